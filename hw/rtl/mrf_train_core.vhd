------------------------------------------------------------------------------------------------
-- mrf_train_core: the fixed-point training engine of an MLP of Layers_g (1 … 8) layers with
-- widths N0_g … N<Layers_g>_g (each 1 … 64) (hw/SPEC.md §2-§4, §7).
-- max(n_1 … n_L) lanes run in lock step; the controller issues one column per cycle:
--   forward layer k : n_k + 1 columns (+3 cycles to finalise),   bias column last
--   backward layer k: n_k + 1 columns (+2 cycles to the next layer)
--   update (every 2**log2_batch samples): all layers, n_k + 1 columns each.
-- The sample count is 64-bit. Per-layer shifts come as vectors, ShiftBits_c bits per layer.
-- Samples arrive on a valid/ready stream (flat int8 inputs, int32 targets). Parameters are
-- loaded/read through the Wt_ port while idle. Dbg_ is a trace of every activation, delta and
-- updated word for the bit-exact test bench, present only with Debug_g (off for synthesis).
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.mrf_train_pkg.all;

entity mrf_train_core is
    generic (
        Layers_g      : positive := 3;
        N0_g          : natural := 16;  -- inputs
        N1_g          : natural := 16;
        N2_g          : natural := 16;
        N3_g          : natural := 2;
        N4_g          : natural := 0;
        N5_g          : natural := 0;
        N6_g          : natural := 0;
        N7_g          : natural := 0;
        N8_g          : natural := 0;
        MasterExtra_g : natural := 8;
        DeltaBits_g   : natural := 16;
        Debug_g       : boolean := false  -- the Dbg_ trace; off for synthesis (outputs tied to 0)
    );
    port (
        Clk            : in  std_logic;
        Rst            : in  std_logic;
        -- run control
        Start          : in  std_logic;  -- pulse while idle: (seed lanes,) clear gradients, run
        NSamples       : in  unsigned(63 downto 0);
        Busy           : out std_logic;
        Done           : out std_logic;  -- one-cycle pulse at the end of a run
        -- formats (SPEC §1-§4), stable during a run
        Cfg_SeedRng    : in  std_logic;  -- 1: seed the generators from Cfg_Seed at Start
        Cfg_Seed       : in  std_logic_vector(31 downto 0);
        Cfg_Log2Batch  : in  unsigned(4 downto 0);
        Cfg_E          : in  unsigned(ShiftBits_c - 1 downto 0);
        -- layer l (0-based) at bits ShiftBits_c * l + ShiftBits_c - 1 … ShiftBits_c * l
        Cfg_Q          : in  std_logic_vector(MaxLayers_c * ShiftBits_c - 1 downto 0);
        Cfg_Bp         : in  std_logic_vector(MaxLayers_c * ShiftBits_c - 1 downto 0);
        Cfg_Sw         : in  std_logic_vector(MaxLayers_c * ShiftBits_c - 1 downto 0);
        Cfg_Sb         : in  std_logic_vector(MaxLayers_c * ShiftBits_c - 1 downto 0);
        -- sample stream
        In_Valid       : in  std_logic;
        In_Ready       : out std_logic;
        In_X           : in  std_logic_vector(N0_g * 8 - 1 downto 0);   -- x[j] at 8j+7..8j
        In_T           : in  std_logic_vector(32 * to_widths(N0_g, N1_g, N2_g, N3_g, N4_g, N5_g,
                                              N6_g, N7_g, N8_g)(Layers_g) - 1 downto 0);
        -- parameter access while idle: address = layer * Cols + column (column n_in = bias);
        -- address Layers_g * Cols: the lane's generator state
        Wt_WrEna       : in  std_logic;
        Wt_RdReq       : in  std_logic;
        Wt_Lane        : in  unsigned(7 downto 0);
        Wt_Addr        : in  unsigned(WtAddrBits_c - 1 downto 0);
        Wt_WrData      : in  std_logic_vector(31 downto 0);
        Wt_RdValid     : out std_logic;
        Wt_RdData      : out std_logic_vector(31 downto 0);
        -- verification trace
        Dbg_Valid      : out std_logic;
        Dbg_Kind       : out unsigned(2 downto 0);
        Dbg_Layer      : out unsigned(2 downto 0);
        Dbg_Index      : out unsigned(7 downto 0);
        Dbg_Data       : out std_logic_vector(AccBits_c * lanes_of(Layers_g, to_widths(N0_g, N1_g,
                                              N2_g, N3_g, N4_g, N5_g, N6_g, N7_g, N8_g)) - 1 downto 0)
    );
end entity;

architecture rtl of mrf_train_core is

    constant W_c      : Widths_t := to_widths(N0_g, N1_g, N2_g, N3_g, N4_g, N5_g, N6_g, N7_g, N8_g);
    constant Last_c   : natural := Layers_g - 1;  -- the output layer (0-based)
    constant NOutL_c  : natural := W_c(Layers_g);
    constant Lanes_c  : natural := lanes_of(Layers_g, W_c);
    constant Cols_c   : natural := cols_of(Layers_g, W_c);
    constant RngAddr_c : natural := Layers_g * Cols_c;
    constant TreeBits_c : natural := 8 + DeltaBits_g + log2ceil(Lanes_c) + 1;

    type NatArr_t is array (0 to MaxLayers_c - 1) of natural;
    function in_widths return NatArr_t is
        variable r_v : NatArr_t := (others => 0);
    begin
        for l in 0 to Last_c loop
            r_v(l) := W_c(l);
        end loop;
        return r_v;
    end function;
    function out_widths return NatArr_t is
        variable r_v : NatArr_t := (others => 0);
    begin
        for l in 0 to Last_c loop
            r_v(l) := W_c(l + 1);
        end loop;
        return r_v;
    end function;
    function active_mask(lane : natural) return std_logic_vector is
        variable r_v : std_logic_vector(MaxLayers_c - 1 downto 0) := (others => '0');
    begin
        for l in 0 to Last_c loop
            if lane < W_c(l + 1) then
                r_v(l) := '1';
            end if;
        end loop;
        return r_v;
    end function;
    constant NIn_c  : NatArr_t := in_widths;
    constant NOut_c : NatArr_t := out_widths;

    type Act_t is array (0 to Last_c, 0 to Cols_c - 1) of signed(ActBits_c - 1 downto 0);
    type DeltaArr_t is array (0 to Cols_c - 1) of signed(DeltaBits_g - 1 downto 0);
    type AccArr_t is array (0 to Lanes_c - 1) of signed(AccBits_c - 1 downto 0);
    type DlArr_t is array (0 to Lanes_c - 1) of signed(DeltaBits_g - 1 downto 0);
    type BpArr_t is array (0 to Lanes_c - 1) of signed(8 + DeltaBits_g - 1 downto 0);
    type ParArr_t is array (0 to Lanes_c - 1) of signed(ParamBits_c - 1 downto 0);
    type Target_t is array (0 to NOutL_c - 1) of signed(31 downto 0);

    type State_t is (Idle_s, Clear_s, Fetch_s, Fwd_s, FwdWait_s, Bwd_s, BwdWait_s, Upd_s, Drain_s);
    signal state     : State_t := Idle_s;
    signal layer     : natural range 0 to Last_c;
    signal col       : natural range 0 to 1023;
    signal wait_cnt  : natural range 0 to 7;
    signal remaining : unsigned(63 downto 0);
    signal batch_cnt : unsigned(15 downto 0);

    signal act       : Act_t := (others => (others => (others => '0')));  -- hidden: p_data
    type XArr_t is array (0 to Cols_c - 1) of signed(ActBits_c - 1 downto 0);
    signal xin       : XArr_t := (others => (others => '0'));  -- inputs: p_ctrl
    signal target    : Target_t;
    signal dprev     : DeltaArr_t := (others => (others => '0'));

    -- stage 0 control to the lanes
    signal c_op      : std_logic_vector(2 downto 0) := OpNone_c;
    signal c_layer   : unsigned(2 downto 0) := (others => '0');
    signal c_addr    : unsigned(WtAddrBits_c - 1 downto 0);
    signal c_col     : natural range 0 to 1023;
    signal c_bias, c_first : std_logic;
    signal c_shift   : unsigned(ShiftBits_c - 1 downto 0);
    signal bc_y      : signed(ActBits_c - 1 downto 0);
    signal dl_load   : std_logic := '0';
    signal dl_value  : DlArr_t;
    signal seed_load : std_logic := '0';

    -- delayed control for the tree / delta stage and the trace
    type Pipe_t is record
        op    : std_logic_vector(2 downto 0);
        layer : natural range 0 to Last_c;
        col   : natural range 0 to 1023;
        bias  : std_logic;
    end record;
    constant PipeIdle_c : Pipe_t := (OpNone_c, 0, 0, '0');
    type PipeArr_t is array (1 to 3) of Pipe_t;
    signal pipe      : PipeArr_t := (others => PipeIdle_c);
    signal tree_sum  : signed(TreeBits_c - 1 downto 0);

    signal lane_acc   : AccArr_t;
    signal lane_delta : DlArr_t;
    signal lane_bp    : BpArr_t;
    signal lane_new   : ParArr_t;
    signal lane_rd    : ParArr_t;
    type RngArr_t is array (0 to Lanes_c - 1) of std_logic_vector(31 downto 0);
    signal lane_rng   : RngArr_t;
    signal rd_rng     : std_logic := '0';

    signal fin_hidden, fin_out, dl_trace : std_logic := '0';
    signal fin_hidden_d : std_logic := '0';
    type YArr_t is array (0 to Lanes_c - 1) of signed(ActBits_c - 1 downto 0);
    signal fin_y        : YArr_t;                       -- last finalised activations (trace)
    signal bp_valid     : std_logic := '0';            -- a back-propagated delta (trace)
    signal bp_delta     : signed(DeltaBits_g - 1 downto 0);
    signal bp_layer     : natural range 0 to Last_c;
    signal bp_col       : natural range 0 to 1023;
    signal rd_pending : std_logic_vector(1 to 3) := "000";
    signal busy_i     : std_logic;
    signal lane_dl    : std_logic;
    signal rd_lane    : natural range 0 to 255;

    function lane_seed(seed : std_logic_vector(31 downto 0); lane : natural)
        return std_logic_vector is
        constant Golden_c : unsigned(31 downto 0) := x"9E3779B9";
        variable n_v : unsigned(31 downto 0) := to_unsigned(lane + 1, 32);
        variable k_v : unsigned(31 downto 0) := (others => '0');
        variable s_v : std_logic_vector(31 downto 0);
    begin
        -- (lane + 1) * golden mod 2**32 with 32-bit shifts and adds: a 64-bit constant product
        -- would reach GHDL 2.0's Verilog as a string literal (a different value)
        for b in 0 to 31 loop
            if n_v(b) = '1' then
                k_v := k_v + shift_left(Golden_c, b);
            end if;
        end loop;
        s_v := seed xor std_logic_vector(k_v);
        if unsigned(s_v) = 0 then
            s_v := x"00000001";
        end if;
        return s_v;
    end function;

begin

    ---------------------------------------------------------------------------------------------
    -- lanes
    ---------------------------------------------------------------------------------------------
    g_lanes : for i in 0 to Lanes_c - 1 generate
        signal ext_we : std_logic;
    begin
        ext_we <= Wt_WrEna when state = Idle_s and to_integer(Wt_Lane) = i else '0';
        i_lane : entity work.mrf_train_lane
            generic map (
                Lane_g => i, Layers_g => Layers_g, Active_g => active_mask(i),
                Cols_g => Cols_c, MasterExtra_g => MasterExtra_g, DeltaBits_g => DeltaBits_g)
            port map (
                Clk => Clk, Rst => Rst,
                Ctl_Op => c_op, Ctl_Layer => c_layer, Ctl_Addr => c_addr, Ctl_IsBias => c_bias,
                Ctl_First => c_first, Ctl_Shift => c_shift, Bc_Y => bc_y,
                Dl_Load => lane_dl, Dl_Value => dl_value(i),
                Seed_Load => seed_load, Seed => lane_seed(Cfg_Seed, i),
                Ext_WrEna => ext_we, Ext_Addr => Wt_Addr, Ext_WrData => signed(Wt_WrData),
                Acc_Out => lane_acc(i), Delta_Out => lane_delta(i), Bp_Prod => lane_bp(i),
                New_Out => lane_new(i), Param_Rd => lane_rd(i), Rng_Out => lane_rng(i));
    end generate;

    ---------------------------------------------------------------------------------------------
    -- controller: issues one column per cycle (stage 0)
    ---------------------------------------------------------------------------------------------
    p_ctrl : process (Clk)
        variable last_v : boolean;
    begin
        if rising_edge(Clk) then
            c_op       <= OpNone_c;
            c_bias     <= '0';
            c_first    <= '0';
            dl_load    <= '0';
            seed_load  <= '0';
            fin_hidden <= '0';
            fin_out    <= '0';
            Done       <= '0';
            c_layer    <= to_unsigned(layer, 3);
            c_addr     <= to_unsigned(layer * Cols_c + col, WtAddrBits_c);
            c_col      <= col;
            c_shift    <= (others => '0');
            last_v     := col = NIn_c(layer);

            if state = Idle_s then
                c_addr <= Wt_Addr;
                c_col  <= 0;
                if Wt_RdReq = '1' then
                    c_op <= OpRd_c;
                end if;
                if Start = '1' then
                    seed_load <= Cfg_SeedRng;
                    remaining <= NSamples;
                    batch_cnt <= (others => '0');
                    col       <= 0;
                    state     <= Clear_s;
                end if;

            elsif state = Clear_s then  -- zero every gradient word
                c_op   <= OpClr_c;
                c_addr <= to_unsigned(col, WtAddrBits_c);
                c_col  <= 0;
                if col = Layers_g * Cols_c - 1 then
                    col   <= 0;
                    state <= Fetch_s;
                else
                    col <= col + 1;
                end if;

            elsif state = Fetch_s then
                layer <= 0;
                col   <= 0;
                if remaining = 0 then
                    wait_cnt <= 5;
                    state    <= Drain_s;
                elsif In_Valid = '1' then
                    for j in 0 to Cols_c - 1 loop  -- every entry driven (no undriven bits)
                        xin(j) <= (others => '0');
                        if j < N0_g then
                            xin(j) <= resize(signed(In_X(8 * j + 7 downto 8 * j)), ActBits_c);
                        end if;
                    end loop;
                    for i in 0 to NOutL_c - 1 loop
                        target(i) <= signed(In_T(32 * i + 31 downto 32 * i));
                    end loop;
                    remaining <= remaining - 1;
                    state     <= Fwd_s;
                end if;

            elsif state = Fwd_s then
                c_op    <= OpFwd_c;
                c_bias  <= '1' when last_v else '0';
                c_first <= '1' when col = 0 else '0';
                if last_v then
                    wait_cnt <= 3;
                    state    <= FwdWait_s;
                else
                    col <= col + 1;
                end if;

            elsif state = FwdWait_s then  -- acc final after 3 cycles: finalise, then next layer
                wait_cnt <= wait_cnt - 1;
                if wait_cnt = 1 then
                    if layer = Last_c then
                        fin_out <= '1';
                    else
                        fin_hidden <= '1';
                    end if;
                    col <= 0;
                    if layer = Last_c then
                        state <= Bwd_s;
                    else
                        layer <= layer + 1;
                        state <= Fwd_s;
                    end if;
                end if;

            elsif state = Bwd_s then
                c_op    <= OpBwd_c;
                if col = 0 and layer /= Last_c then
                    dl_load <= '1';  -- deltas of this layer, registered 2 cycles ago
                end if;
                c_bias  <= '1' when last_v else '0';
                if last_v then
                    col <= 0;
                    if layer = 0 then
                        batch_cnt <= batch_cnt + 1;
                        if ((batch_cnt + 1) and (shift_left(to_unsigned(1, 16),
                                to_integer(Cfg_Log2Batch)) - 1)) = 0 then
                            state <= Upd_s;
                        else
                            state <= Fetch_s;
                        end if;
                    else
                        wait_cnt <= 2;
                        state    <= BwdWait_s;
                    end if;
                else
                    col <= col + 1;
                end if;

            elsif state = BwdWait_s then  -- last delta of the layer registered after 2 cycles
                wait_cnt <= wait_cnt - 1;
                if wait_cnt = 1 then
                    layer   <= layer - 1;
                    state   <= Bwd_s;
                end if;

            elsif state = Upd_s then
                c_op    <= OpUpd_c;
                c_bias  <= '1' when last_v else '0';
                c_shift <= layer_shift(Cfg_Sb, layer) when last_v else layer_shift(Cfg_Sw, layer);
                if last_v then
                    col <= 0;
                    if layer = Last_c then
                        layer <= 0;
                        state <= Fetch_s;
                    else
                        layer <= layer + 1;
                    end if;
                else
                    col <= col + 1;
                end if;

            elsif state = Drain_s then
                wait_cnt <= wait_cnt - 1;
                if wait_cnt = 1 then
                    Done  <= '1';
                    state <= Idle_s;
                end if;
            end if;

            if Rst = '1' then
                state <= Idle_s;
                layer <= 0;
                col   <= 0;
                c_op  <= OpNone_c;
            end if;
        end if;
    end process;

    In_Ready <= '1' when state = Fetch_s and remaining /= 0 else '0';
    busy_i   <= '0' when state = Idle_s else '1';
    Busy     <= busy_i;
    lane_dl  <= dl_load or fin_out;

    ---------------------------------------------------------------------------------------------
    -- broadcast activation (stage 0 -> 1), finalisation, adder tree and deltas
    ---------------------------------------------------------------------------------------------
    p_data : process (Clk)
        variable sum_v : signed(TreeBits_c - 1 downto 0);
        variable y_v   : signed(ActBits_c - 1 downto 0);
        variable d_v   : signed(DeltaBits_g - 1 downto 0);
        variable p3_v  : Pipe_t;
    begin
        if rising_edge(Clk) then
            -- stage 0 -> 1 broadcast (bias column: 1)
            if c_bias = '1' then
                bc_y <= to_signed(1, ActBits_c);
            else
                if c_layer = 0 then
                    bc_y <= xin(c_col);
                else
                    bc_y <= act(to_integer(c_layer), c_col);
                end if;
            end if;
            -- delayed control: pipe(1) = stage 1, pipe(2) = stage 2, pipe(3) = stage 3
            pipe(1) <= (c_op, to_integer(c_layer), c_col, c_bias);
            pipe(2) <= pipe(1);
            pipe(3) <= pipe(2);

            -- stage 2: adder tree over the lanes' back-propagation products
            if pipe(2).op = OpBwd_c then
                sum_v := (others => '0');
                for i in 0 to Lanes_c - 1 loop
                    sum_v := sum_v + resize(lane_bp(i), TreeBits_c);
                end loop;
                tree_sum <= sum_v;
            end if;

            -- stage 3: delta of the previous layer, column pipe(3).col
            -- (writes use constant indices under an explicit compare: GHDL 2.0's synthesis
            -- turns a clocked write at a variable index of a 2-D array into latches)
            p3_v := pipe(3);
            bp_valid <= '0';
            if p3_v.op = OpBwd_c and p3_v.bias = '0' and p3_v.layer > 0 then
                y_v := act(p3_v.layer, p3_v.col);
                if y_v > 0 and y_v < 255 then
                    d_v := sat(rhe_shift(tree_sum,
                               to_integer(layer_shift(Cfg_Bp, p3_v.layer))),
                               DeltaBits_g);
                else
                    d_v := (others => '0');
                end if;
                for j in 0 to Cols_c - 1 loop
                    if p3_v.col = j then
                        dprev(j) <= d_v;
                    end if;
                end loop;
                bp_valid <= '1';
                bp_delta <= d_v;
                bp_layer <= p3_v.layer;
                bp_col   <= p3_v.col;
            end if;

            -- hidden layer finalisation: y = CLAMP_U(RHE(acc, q)) into act(layer)
            fin_hidden_d <= fin_hidden;
            if fin_hidden = '1' then
                for i in 0 to Cols_c - 1 loop  -- every entry driven (no undriven bits)
                    y_v := (others => '0');
                    if i < Lanes_c then
                        y_v := clamp_u8(rhe_shift(lane_acc(i),
                                   to_integer(layer_shift(Cfg_Q, layer - 1))));
                        fin_y(i) <= y_v;
                    end if;
                    for l in 0 to Last_c loop  -- (layer 0 never: act(0) stays 0, xin holds y_0)
                        if layer = l then
                            act(l, i) <= y_v;
                        end if;
                    end loop;
                end loop;
            end if;
        end if;
    end process;

    ---------------------------------------------------------------------------------------------
    -- verification trace (Debug_g): every activation, output acc/delta, delta and updated word,
    -- one cycle after the datapath produced it; observes the datapath, never drives it
    ---------------------------------------------------------------------------------------------
    g_dbg : if Debug_g generate
        p_dbg : process (Clk)
            variable p3_v : Pipe_t;
        begin
            if rising_edge(Clk) then
                p3_v      := pipe(3);
                Dbg_Valid <= '0';
                dl_trace  <= '0';
                if bp_valid = '1' then
                    Dbg_Valid <= '1';
                    Dbg_Data  <= (others => '0');
                    Dbg_Kind  <= to_unsigned(DbgDp_c, 3);
                    Dbg_Layer <= to_unsigned(bp_layer - 1, 3);
                    Dbg_Index <= to_unsigned(bp_col, 8);
                    Dbg_Data(AccBits_c - 1 downto 0) <=
                        std_logic_vector(resize(bp_delta, AccBits_c));
                end if;
                if p3_v.op = OpUpd_c then
                    Dbg_Valid <= '1';
                    Dbg_Kind  <= to_unsigned(DbgW_c, 3);
                    Dbg_Layer <= to_unsigned(p3_v.layer, 3);
                    Dbg_Index <= to_unsigned(p3_v.col, 8);
                    for i in 0 to Lanes_c - 1 loop
                        Dbg_Data((i + 1) * AccBits_c - 1 downto i * AccBits_c) <=
                            std_logic_vector(resize(lane_new(i), AccBits_c));
                    end loop;
                end if;
                if fin_hidden_d = '1' then
                    Dbg_Valid <= '1';
                    Dbg_Kind  <= to_unsigned(DbgY_c, 3);
                    Dbg_Layer <= to_unsigned(layer - 1, 3);
                    Dbg_Index <= (others => '0');
                    for i in 0 to Lanes_c - 1 loop
                        Dbg_Data((i + 1) * AccBits_c - 1 downto i * AccBits_c) <=
                            std_logic_vector(resize(fin_y(i), AccBits_c));
                    end loop;
                end if;
                if fin_out = '1' then
                    Dbg_Valid <= '1';
                    Dbg_Kind  <= to_unsigned(DbgAcc_c, 3);
                    Dbg_Layer <= to_unsigned(Last_c, 3);
                    Dbg_Index <= (others => '0');
                    for i in 0 to Lanes_c - 1 loop
                        Dbg_Data((i + 1) * AccBits_c - 1 downto i * AccBits_c) <=
                            std_logic_vector(lane_acc(i));
                    end loop;
                    dl_trace <= '1';
                end if;
                if dl_trace = '1' then
                    Dbg_Valid <= '1';
                    Dbg_Kind  <= to_unsigned(DbgDl_c, 3);
                    Dbg_Layer <= to_unsigned(Last_c, 3);
                    Dbg_Index <= (others => '0');
                    for i in 0 to Lanes_c - 1 loop
                        Dbg_Data((i + 1) * AccBits_c - 1 downto i * AccBits_c) <=
                            std_logic_vector(resize(lane_delta(i), AccBits_c));
                    end loop;
                end if;
                if Rst = '1' then
                    Dbg_Valid <= '0';
                    dl_trace  <= '0';
                end if;
            end if;
        end process;
    end generate;

    g_nodbg : if not Debug_g generate
        Dbg_Valid <= '0';
        Dbg_Kind  <= (others => '0');
        Dbg_Layer <= (others => '0');
        Dbg_Index <= (others => '0');
        Dbg_Data  <= (others => '0');
    end generate;

    -- lane delta values: output deltas at fin_out, else the previous layer's deltas
    p_dl : process (all)
        variable e_v : signed(AccBits_c downto 0);
    begin
        for i in 0 to Lanes_c - 1 loop
            dl_value(i) <= (others => '0');
            if fin_out = '1' then
                if i < NOutL_c then
                    e_v := resize(lane_acc(i), AccBits_c + 1) - resize(target(i), AccBits_c + 1);
                    dl_value(i) <= sat(rhe_shift(e_v, to_integer(Cfg_E)), DeltaBits_g);
                end if;
            elsif i < Cols_c then
                if i < NOut_c(layer) then
                    dl_value(i) <= dprev(i);
                end if;
            end if;
        end loop;
    end process;

    ---------------------------------------------------------------------------------------------
    -- parameter read-back (2 cycles)
    ---------------------------------------------------------------------------------------------
    p_rd : process (Clk)
    begin
        if rising_edge(Clk) then
            rd_pending <= (Wt_RdReq and not busy_i) & rd_pending(1 to 2);
            if Wt_RdReq = '1' and busy_i = '0' then
                rd_lane <= to_integer(Wt_Lane);
                rd_rng  <= '1' when Wt_Addr = RngAddr_c else '0';
            end if;
            if rd_rng = '1' then
                Wt_RdData <= lane_rng(rd_lane);
            else
                Wt_RdData <= std_logic_vector(lane_rd(rd_lane));
            end if;
        end if;
    end process;
    Wt_RdValid <= rd_pending(3);

end architecture;
