# Vivado out-of-context synthesis + implementation and timing report of the mrf_train kernel.
# Needs Vivado (2022.1 for the U250 platform); it cannot run on machines without it, and it was
# NOT run for the figures in hw/syn/README.md (those come from Yosys, see estimate.py).
#
#   vivado -mode batch -source hw/syn/vivado_ooc.tcl -tclargs [top] [part] [out_dir]
#
# Defaults: top mrf_train_kernel, part xcu250-figd2104-2L-e (Alveo U250), out hw/syn/vivado_out.
set here [file dirname [file normalize [info script]]]
set top  [expr {[llength $argv] > 0 ? [lindex $argv 0] : "mrf_train_kernel"}]
set part [expr {[llength $argv] > 1 ? [lindex $argv 1] : "xcu250-figd2104-2L-e"}]
set out  [expr {[llength $argv] > 2 ? [lindex $argv 2] : "$here/vivado_out"}]
file mkdir $out

set rtl [file join $here .. rtl]
foreach f {mrf_train_pkg.vhd mrf_train_round.vhd mrf_train_lane.vhd mrf_train_replica.vhd
           mrf_train_core.vhd
           mrf_axi_lite_ctrl.vhd mrf_axi_master.vhd mrf_train_kernel.vhd} {
    read_vhdl -vhdl2008 [file join $rtl $f]
}
read_xdc -mode out_of_context [file join $here mrf_train.xdc]

# Debug_g stays false (its default): the trace is not part of the synthesised design.
synth_design -top $top -part $part -mode out_of_context -flatten_hierarchy rebuilt
report_utilization -file $out/utilization_synth.rpt
report_timing_summary -max_paths 20 -file $out/timing_synth.rpt
opt_design
place_design
phys_opt_design
route_design
report_utilization -file $out/utilization_routed.rpt
report_timing_summary -max_paths 20 -file $out/timing_routed.rpt
report_design_analysis -logic_level_distribution -file $out/logic_levels.rpt
set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
puts "mrf_train OOC: WNS $wns ns at [get_property PERIOD [get_clocks ap_clk]] ns"
