# Package hw/rtl as the Vitis RTL kernel mrf_train.xo (Vivado 2022.1, batch mode; not run here):
#   vivado -mode batch -source package_xo.tcl -tclargs <out.xo> <part>
# Ports follow hw/rtl/mrf_train_kernel.vhd: ap_clk, ap_rst_n, interrupt, s_axi_control, m_axi_gmem.
set xo_path [lindex $argv 0]
set part    [lindex $argv 1]
set here    [file dirname [file normalize [info script]]]
set rtl     [file normalize "$here/../rtl"]
set build   [file normalize "./mrf_train_ip"]

# the register map: one table (memory_map.tcl, = hw/SPEC.md §8.1), checked against kernel.xml
# before anything is built
source $here/memory_map.tcl
mrf_check_memory_map $mrf_registers $here/kernel.xml $mrf_address_limit

create_project -force kernel_pack $build -part $part
add_files -norecurse [list \
    $rtl/mrf_train_pkg.vhd $rtl/mrf_train_round.vhd $rtl/mrf_train_lane.vhd \
    $rtl/mrf_train_replica.vhd $rtl/mrf_train_core.vhd \
    $rtl/mrf_axi_lite_ctrl.vhd $rtl/mrf_axi_master.vhd $rtl/mrf_train_kernel.vhd]
set_property file_type {VHDL 2008} [get_files *.vhd]
set_property top mrf_train_kernel [current_fileset]
update_compile_order -fileset sources_1

ipx::package_project -root_dir $build/ip -vendor mrfrecon -library kernel -taxonomy /KernelIP -import_files -set_current false
ipx::unload_core $build/ip/component.xml
ipx::edit_ip_in_project -upgrade true -name tmp_edit -directory $build/ip $build/ip/component.xml
set core [ipx::current_core]
set_property core_revision 1 $core
foreach up [ipx::get_user_parameters] { ipx::remove_user_parameter [get_property NAME $up] $core }
ipx::associate_bus_interfaces -busif s_axi_control -clock ap_clk $core
ipx::associate_bus_interfaces -busif m_axi_gmem -clock ap_clk $core
set_property sdx_kernel true $core
set_property sdx_kernel_type rtl $core
set_property ipi_drc {ignore_freq_hz false} $core
set_property vitis_drc {ctrl_protocol ap_ctrl_hs} $core
set mem [ipx::add_memory_map s_axi_control $core]
set_property slave_memory_map_ref s_axi_control [ipx::get_bus_interfaces s_axi_control -of_objects $core]
set blk [ipx::add_address_block reg0 $mem]
set_property range 0x1000 $blk
foreach {name offset size kind} $mrf_registers {
    set reg [ipx::add_register $name $blk]
    set_property address_offset $offset $reg
    set_property size $size $reg
    if {$kind eq "pointer"} {
        ipx::add_register_parameter ASSOCIATED_BUSIF $reg
        set_property value m_axi_gmem [ipx::get_register_parameters ASSOCIATED_BUSIF -of_objects $reg]
    }
}
ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity -kernel $core
ipx::save_core $core
close_project -delete

package_xo -force -xo_path $xo_path -kernel_name mrf_train -ip_directory $build/ip -kernel_xml $here/kernel.xml
