# The s_axi_control register map of the mrf_train kernel (hw/SPEC.md §8.1, interface v2): the one
# table package_xo.tcl builds the IP's memory map from, checked against kernel.xml before use.
# tests/engine/test_packaging.py checks that this table, kernel.xml, SPEC §8.1 and
# mrfrecon/engine/kernel.py agree, and runs the check below with tclsh.
#   tclsh memory_map.tcl kernel.xml      -> prints the map, exit 1 on any mismatch

# name, byte offset, bits, kind (ctrl: ap_ctrl_hs block; pointer: m_axi_gmem buffer; scalar)
set mrf_registers {
    CTRL          0x000 32 ctrl
    GIER          0x004 32 ctrl
    IP_IER        0x008 32 ctrl
    IP_ISR        0x00C 32 ctrl
    samples       0x010 64 pointer
    weights_in    0x01C 64 pointer
    weights_out   0x028 64 pointer
    n_samples_lo  0x034 32 scalar
    n_samples_hi  0x03C 32 scalar
}
# the RTL's AXI4-Lite address is 7 bits wide (mrf_axi_lite_ctrl)
set mrf_address_limit 0x80

# Vitis lays arguments out from 0x10: a 64-bit pointer takes 12 bytes (two words and a reserved
# one), a 32-bit scalar 8 (one word and a reserved one). Derive every offset from that rule and
# compare with the table and with kernel.xml; error out (and so stop packaging) on any difference.
proc mrf_check_memory_map {registers kernel_xml limit} {
    set expected 0x10
    set args_seen {}
    set ctrl_offset 0
    foreach {name offset bits kind} $registers {
        if {$kind eq "ctrl"} {
            if {$offset != $ctrl_offset || $bits != 32} {
                error "memory map: $name at $offset, expected [format 0x%03X $ctrl_offset]"
            }
            incr ctrl_offset 4
            continue
        }
        if {$offset != $expected} {
            error "memory map: argument $name at $offset, Vitis puts it at [format 0x%03X $expected]"
        }
        switch $kind {
            pointer { if {$bits != 64} { error "memory map: pointer $name must be 64 bits" }
                      set step 12 }
            scalar  { if {$bits != 32} { error "memory map: scalar $name must be 32 bits" }
                      set step 8 }
            default { error "memory map: $name has unknown kind $kind" }
        }
        if {$offset + $bits / 8 > $limit} {
            error "memory map: $name ends past the AXI4-Lite address range [format 0x%X $limit]"
        }
        lappend args_seen [list $name [expr {$offset}] $bits]
        set expected [expr {$offset + $step}]
    }
    set fh [open $kernel_xml r]
    set xml [read $fh]
    close $fh
    set xml_args {}
    foreach {- tag} [regexp -all -inline {<arg\s([^>]*)/>} $xml] {
        foreach key {name offset size} {
            if {![regexp "\\m$key=\"(\[^\"\]*)\"" $tag - value]} {
                error "kernel.xml: an <arg> without $key"
            }
            set v($key) $value
        }
        lappend xml_args [list $v(name) [expr {$v(offset)}] [expr {$v(size) * 8}]]
    }
    if {$xml_args ne $args_seen} {
        error "memory map: kernel.xml arguments {$xml_args} differ from the table {$args_seen}"
    }
    return $args_seen
}

if {[info exists argv0] && [file tail $argv0] eq "memory_map.tcl"} {
    if {[catch {mrf_check_memory_map $mrf_registers [lindex $argv 0] $mrf_address_limit} out]} {
        puts stderr $out
        exit 1
    }
    foreach {name offset bits kind} $mrf_registers { puts "$name $offset $bits $kind" }
}
