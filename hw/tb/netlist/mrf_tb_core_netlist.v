// mrf_tb_core_netlist: Verilog twin of hw/tb/core/mrf_tb_core_files.vhd for netlist simulation
// (iverilog). Drives a synthesised mrf_train_core (GHDL's Verilog output, or the Yosys-mapped
// netlist with the Xilinx cell models) from the same stimulus file and writes the same trace
// format: "T kind layer index hex", "C cycles", "R lane addr value", "END".
`timescale 1ns / 1ps
module mrf_tb_core_netlist;
    parameter LAYERS = 3;
    parameter NIN = 16;
    parameter NOUT = 2;
    parameter LANES = 16;
    parameter DEBUG = 1;              // the netlist has the Dbg_ trace (Debug_g = true)
    parameter STIM = "stim.txt";
    parameter TRACE = "trace.txt";
    localparam ACC = 48;
    localparam NPMAX = 65536;
    localparam MAXL = 8;

    reg Clk = 0, Rst = 1;
    always #2 Clk = ~Clk;

    reg start = 0, in_valid = 0, wt_we = 0, wt_re = 0, seed_rng = 1;
    reg [63:0] n_samples = 0;
    reg [31:0] seed = 0, wt_wdata = 0;
    reg [4:0] log2b = 0;
    reg [5:0] e = 0;
    reg [MAXL * 6 - 1:0] cfg_q = 0, cfg_bp = 0, cfg_sw = 0, cfg_sb = 0;
    reg [NIN * 8 - 1:0] in_x = 0;
    reg [NOUT * 32 - 1:0] in_t = 0;
    reg [7:0] wt_lane = 0;
    reg [11:0] wt_addr = 0;
    wire busy, done, in_ready, wt_rvalid;
    wire [31:0] wt_rdata;
    wire dbg_valid;
    wire [2:0] dbg_kind;
    wire [2:0] dbg_layer;
    wire [7:0] dbg_index;
    wire [LANES * ACC - 1:0] dbg_data;
    wire dbg_uvalid;
    wire [2:0] dbg_ulayer;
    wire [7:0] dbg_uindex;
    wire [LANES * ACC - 1:0] dbg_udata;

    mrf_train_core dut (
        .Clk(Clk), .Rst(Rst), .Start(start), .NSamples(n_samples), .Busy(busy), .Done(done),
        .Cfg_SeedRng(seed_rng), .Cfg_Seed(seed), .Cfg_Log2Batch(log2b), .Cfg_E(e),
        .Cfg_Q(cfg_q), .Cfg_Bp(cfg_bp), .Cfg_Sw(cfg_sw), .Cfg_Sb(cfg_sb),
        .In_Valid(in_valid), .In_Ready(in_ready), .In_X(in_x), .In_T(in_t),
        .Wt_WrEna(wt_we), .Wt_RdReq(wt_re), .Wt_Lane(wt_lane), .Wt_Addr(wt_addr),
        .Wt_WrData(wt_wdata), .Wt_RdValid(wt_rvalid), .Wt_RdData(wt_rdata),
        .Dbg_Valid(dbg_valid), .Dbg_Kind(dbg_kind), .Dbg_Layer(dbg_layer),
        .Dbg_Index(dbg_index), .Dbg_Data(dbg_data), .Dbg_UValid(dbg_uvalid),
        .Dbg_ULayer(dbg_ulayer), .Dbg_UIndex(dbg_uindex), .Dbg_UData(dbg_udata));

    integer cycles = 0;
    integer tf, sf, r, k, j, n, n_par, v, lane, addr;
    integer lanes_v [0:NPMAX - 1];
    integer addrs_v [0:NPMAX - 1];

    always @(posedge Clk) begin
        if (busy === 1'b1) cycles <= cycles + 1;
        if (DEBUG && Rst == 1'b0 && dbg_valid !== 1'b0)  // an x is written as such: the test fails
            $fwrite(tf, "T %0d %0d %0d %h\n", dbg_kind, dbg_layer, dbg_index, dbg_data);
        if (DEBUG && Rst == 1'b0 && dbg_uvalid !== 1'b0)  // updated words (kind 5)
            $fwrite(tf, "T 5 %0d %0d %h\n", dbg_ulayer, dbg_uindex, dbg_udata);
    end

    function [5:0] rd6(input integer fd);
        integer x, rr;
        begin
            rr = $fscanf(fd, "%d", x);
            rd6 = x[5:0];
        end
    endfunction

    initial begin
        tf = $fopen(TRACE, "w");
        sf = $fopen(STIM, "r");
        if (sf == 0) begin
            $display("cannot open %s", STIM);
            $finish;
        end
        repeat (3) @(posedge Clk);
        Rst <= 0;
        @(posedge Clk);
        // header: n_samples seed log2b e seed_rng, then q bp s_w s_b of each layer, n_params
        r = $fscanf(sf, "%d", n);
        n_samples <= n;
        r = $fscanf(sf, "%d", v);
        seed <= v;
        r = $fscanf(sf, "%d", v);
        log2b <= v[4:0];
        e <= rd6(sf);
        r = $fscanf(sf, "%d", v);
        seed_rng <= v[0];
        for (j = 0; j < LAYERS; j = j + 1) begin
            cfg_q[6 * j +: 6] = rd6(sf);
            cfg_bp[6 * j +: 6] = rd6(sf);
            cfg_sw[6 * j +: 6] = rd6(sf);
            cfg_sb[6 * j +: 6] = rd6(sf);
        end
        r = $fscanf(sf, "%d", n_par);
        for (k = 0; k < n_par; k = k + 1) begin
            r = $fscanf(sf, "%d %d %d", lane, addr, v);
            lanes_v[k] = lane;
            addrs_v[k] = addr;
            wt_lane <= lane;
            wt_addr <= addr;
            wt_wdata <= v;
            wt_we <= 1;
            @(posedge Clk);
        end
        wt_we <= 0;
        start <= 1;
        @(posedge Clk);
        start <= 0;
        for (k = 0; k < n; k = k + 1) begin
            for (j = 0; j < NIN; j = j + 1) begin
                r = $fscanf(sf, "%d", v);
                in_x[8 * j +: 8] <= v[7:0];
            end
            for (j = 0; j < NOUT; j = j + 1) begin
                r = $fscanf(sf, "%d", v);
                in_t[32 * j +: 32] <= v;
            end
            in_valid <= 1;
            @(posedge Clk);
            while (in_ready !== 1'b1) @(posedge Clk);
            in_valid <= 0;
        end
        if (busy === 1'b1) begin
            @(posedge Clk);
            while (done !== 1'b1) @(posedge Clk);
        end
        @(posedge Clk);
        $fwrite(tf, "C %0d\n", cycles);
        for (k = 0; k < n_par; k = k + 1) begin
            wt_lane <= lanes_v[k];
            wt_addr <= addrs_v[k];
            wt_re <= 1;
            @(posedge Clk);
            wt_re <= 0;
            @(posedge Clk);
            while (wt_rvalid !== 1'b1) @(posedge Clk);
            $fwrite(tf, "R %0d %0d %0d\n", lanes_v[k], addrs_v[k], $signed(wt_rdata));
        end
        $fwrite(tf, "END\n");
        $fclose(tf);
        $finish;
    end
endmodule
