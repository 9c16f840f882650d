# Timing constraints of the mrf_train kernel for out-of-context synthesis (hw/syn/vivado_ooc.tcl).
# In a Vitis build the platform's kernel clock constrains ap_clk instead; this file is for the
# stand-alone timing check. Goal (issue 13, goal 3): 300 MHz on UltraScale+ (xcu250, -2).
create_clock -name ap_clk -period 3.333 [get_ports ap_clk]
# The kernel's ports are on-chip (AXI interconnect): budget half a cycle outside the kernel.
set_input_delay  -clock ap_clk 1.6 [get_ports -filter {DIRECTION == IN && NAME != ap_clk}]
set_output_delay -clock ap_clk 1.6 [get_ports -filter {DIRECTION == OUT}]
