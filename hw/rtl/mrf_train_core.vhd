------------------------------------------------------------------------------------------------
-- mrf_train_core: the fixed-point training engine of an MLP of Layers_g (1 … 8) layers with
-- widths N0_g … N<Layers_g>_g (each 1 … 64) (hw/SPEC.md §2-§4, §7).
-- Replicas_g replicas (mrf_train_replica, each max(n_1 … n_L) lanes) run in lock step, each on
-- its own sample of a mini-batch ("round": min(Replicas_g, 2**log2_batch) samples). Weights
-- change only at batch boundaries, so each replica keeps its own exact gradient sums and the
-- update adds them (integer sums: any order gives the golden model's sum). Per round:
--   forward layer k : n_k + 1 columns (+ pipeline and finalisation latency), bias column last
--   backward layer k: n_k + 1 columns (+ adder tree and rounding latency to the next layer)
-- After the round that completes a batch, the update sequencer reads every replica's gradient
-- word and replica 0's parameter word of one column per cycle (all lanes), adds the replicas'
-- sums in a registered tree, rounds stochastically and writes the word into every replica. It
-- runs beside the next round's forward pass, which waits per layer until that layer is written.
-- Samples arrive on a valid/ready stream into a prefetch slot per replica while a round runs.
-- The sample count is 64-bit. Per-layer shifts come as vectors, ShiftBits_c bits per layer.
-- Parameters are loaded/read through the Wt_ port while idle. Dbg_ (replica 0: activations,
-- output acc/deltas, deltas) and Dbg_U (updated words) are the trace of the bit-exact test
-- benches, present only with Debug_g (off for synthesis).
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
        Replicas_g    : positive := 16;  -- a power of two, <= MaxReplicas_c
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
                                              N2_g, N3_g, N4_g, N5_g, N6_g, N7_g, N8_g))
                                              - 1 downto 0);
        Dbg_UValid     : out std_logic;  -- updated words of one column (kind DbgW_c)
        Dbg_ULayer     : out unsigned(2 downto 0);
        Dbg_UIndex     : out unsigned(7 downto 0);
        Dbg_UData      : out std_logic_vector(AccBits_c * lanes_of(Layers_g, to_widths(N0_g,
                                              N1_g, N2_g, N3_g, N4_g, N5_g, N6_g, N7_g, N8_g))
                                              - 1 downto 0)
    );
end entity;

architecture rtl of mrf_train_core is

    constant W_c        : Widths_t := to_widths(N0_g, N1_g, N2_g, N3_g, N4_g, N5_g, N6_g, N7_g,
                                                N8_g);
    constant Last_c     : natural := Layers_g - 1;  -- the output layer (0-based)
    constant NOutL_c    : natural := W_c(Layers_g);
    constant Lanes_c    : natural := lanes_of(Layers_g, W_c);
    constant Cols_c     : natural := cols_of(Layers_g, W_c);
    constant RngAddr_c  : natural := Layers_g * Cols_c;
    constant K_c        : natural := Replicas_g;
    constant ULevels_c  : natural := log2ceil(K_c);         -- replica-sum tree levels
    constant BpLevels_c : natural := log2ceil(Lanes_c);     -- lane adder tree levels
    -- FSM waits (see hw/SPEC.md §7): forward: 3 cycles to the final accumulator, then the
    -- finalisation (RoundLat_c + 1); backward: the lane tree and the delta rounding
    constant FwdWait_c  : natural := 2 + RoundLat_c + 2;  -- (+1: the replicas' row register)
    constant FinAt_c    : natural := RoundLat_c + 2;
    constant BwdWait_c  : natural := BpLevels_c + RoundLat_c + 1;
    -- update pipeline: stage 1 lane RAM data, 1 + ULevels_c tree out, then A (generator),
    -- B (sum + random word), C1/C2 (shift), D (subtract), E1 (range), E2 (select) = write
    constant USa_c      : natural := 2 + ULevels_c;
    constant UWr_c      : natural := USa_c + 6;

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
    constant NIn_c  : NatArr_t := in_widths;
    constant NOut_c : NatArr_t := out_widths;

    subtype LaneVec_t is std_logic_vector(Lanes_c - 1 downto 0);
    subtype PVec_t is signed(ParamBits_c * Lanes_c - 1 downto 0);
    subtype GVec_t is signed(AccBits_c * Lanes_c - 1 downto 0);
    type RepG_t is array (0 to K_c - 1) of GVec_t;
    type RepP_t is array (0 to K_c - 1) of PVec_t;

    type State_t is (Idle_s, Fetch_s, Fwd_s, FwdWait_s, Bwd_s, BwdWait_s, Drain_s);
    signal state      : State_t := Idle_s;
    signal layer      : natural range 0 to Last_c;
    signal col        : natural range 0 to 1023;
    signal wait_cnt   : natural range 0 to 63;
    signal remaining  : unsigned(63 downto 0);  -- samples not yet started
    signal acc_left   : unsigned(63 downto 0);  -- samples not yet accepted from the stream
    signal fill       : natural range 0 to K_c;  -- prefetched samples
    signal spr        : natural range 0 to K_c;  -- samples per round
    signal batch_cnt  : unsigned(16 downto 0);
    signal bmask      : unsigned(16 downto 0);  -- B - 1 (registered at Start: short paths)
    signal round_upd  : std_logic := '0';       -- this round completes a batch
    signal round_fresh : std_logic := '0';      -- this round starts a batch (G = product)
    signal accept     : std_logic;
    signal in_ready_i : std_logic;
    -- registered from the 64-bit counts (short paths): samples in the next round, counts /= 0
    signal need       : natural range 0 to K_c;
    signal need_ok    : std_logic := '0';  -- need follows remaining (one cycle after a change)
    signal left_nz    : std_logic := '0';  -- acc_left /= 0
    signal rem_nz     : std_logic := '0';  -- remaining /= 0

    -- stage 0 control to the replicas
    signal c_op       : std_logic_vector(2 downto 0) := OpNone_c;
    signal c_layer    : unsigned(2 downto 0) := (others => '0');
    signal c_addr     : unsigned(WtAddrBits_c - 1 downto 0);
    signal c_col      : unsigned(7 downto 0);
    signal c_bias, c_first : std_logic;
    signal dl_load    : std_logic := '0';
    signal dl_mask    : LaneVec_t := (others => '0');
    signal seed_load  : std_logic := '0';
    signal round_start : std_logic := '0';
    signal round_act  : std_logic_vector(K_c - 1 downto 0) := (others => '0');
    signal fin_hidden, fin_out : std_logic := '0';
    signal fin_layer  : unsigned(2 downto 0) := (others => '0');
    signal fin_shift, bp_shift, e_reg : unsigned(ShiftBits_c - 1 downto 0) := (others => '0');

    type Pipe_t is record
        op    : std_logic_vector(2 downto 0);
        layer : unsigned(2 downto 0);
        col   : unsigned(7 downto 0);
        bias  : std_logic;
    end record;
    constant PipeIdle_c : Pipe_t := (OpNone_c, (others => '0'), (others => '0'), '0');
    type PipeArr_t is array (1 to 2) of Pipe_t;
    signal pipe       : PipeArr_t := (others => PipeIdle_c);
    signal bp_valid   : std_logic;

    -- replicas
    signal rep_g      : RepG_t;
    signal rep_p      : RepP_t;
    signal rep_rd     : RepP_t;
    signal wr_ena     : LaneVec_t;
    signal wr_addr    : unsigned(WtAddrBits_c - 1 downto 0);
    signal wr_data    : PVec_t;

    -- update sequencer and pipeline (control shared by the lanes)
    type UCtl_t is record
        valid : std_logic;
        addr  : unsigned(WtAddrBits_c - 1 downto 0);
        layer : unsigned(2 downto 0);
        col   : unsigned(7 downto 0);
        bias  : std_logic;
        shift : unsigned(ShiftBits_c - 1 downto 0);
    end record;
    constant UIdle_c : UCtl_t := ('0', (others => '0'), (others => '0'), (others => '0'), '0',
                                  (others => '0'));
    type UCtlArr_t is array (0 to UWr_c) of UCtl_t;
    signal uc         : UCtlArr_t := (others => UIdle_c);  -- uc(s): stage s (0: RAM read)
    signal u_run      : std_logic := '0';
    signal u_layer    : natural range 0 to Last_c;
    signal u_col      : natural range 0 to 1023;
    signal upd_start  : std_logic_vector(1 to 2) := "00";  -- (trails the backward pass)
    signal upd_ok     : std_logic_vector(MaxLayers_c - 1 downto 0) := (others => '1');
    signal u_mask     : unsigned(31 downto 0);

    type LaneG_t is array (0 to Lanes_c - 1) of signed(AccBits_c - 1 downto 0);
    type ULeaf_t is array (0 to K_c - 1) of LaneG_t;
    type UTree_t is array (1 to ULevels_c, 0 to K_c / 2 - 1) of LaneG_t;
    signal uleaf      : ULeaf_t;
    signal utree      : UTree_t;
    signal utree_out  : LaneG_t;
    type RngArr_t is array (0 to Lanes_c - 1) of std_logic_vector(31 downto 0);
    signal lfsr       : RngArr_t := (others => (others => '0'));
    type PDelay_t is array (1 to USa_c) of PVec_t;
    signal pdel       : PDelay_t;
    type Sum_t is array (0 to Lanes_c - 1) of signed(AccBits_c downto 0);
    type Diff_t is array (0 to Lanes_c - 1) of signed(AccBits_c + 1 downto 0);
    signal ga         : LaneG_t;
    signal sb, sc1, sc2 : Sum_t;
    signal pb, pc1    : PVec_t;
    signal sd         : Diff_t;
    type Word_t is array (0 to Lanes_c - 1) of signed(ParamBits_c - 1 downto 0);
    signal se_low     : Word_t;
    signal se_in16, se_in32, se_neg : LaneVec_t;
    signal u_word     : Word_t;
    signal u_wr       : std_logic := '0';
    signal u_wr_addr  : unsigned(WtAddrBits_c - 1 downto 0);

    signal rd_pending : std_logic_vector(1 to 3) := "000";
    signal busy_i     : std_logic;
    signal rd_rng     : std_logic := '0';
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

    function pword(v : PVec_t; i : natural) return signed is
    begin
        return v(ParamBits_c * (i + 1) - 1 downto ParamBits_c * i);
    end function;

begin

    assert 2**ULevels_c = K_c and K_c <= MaxReplicas_c
        report "Replicas_g must be a power of two <= MaxReplicas_c" severity failure;

    ---------------------------------------------------------------------------------------------
    -- replicas
    ---------------------------------------------------------------------------------------------
    g_rep : for k in 0 to K_c - 1 generate
        signal load_slot : std_logic;
        signal rep_dbg_valid : std_logic;
        signal rep_dbg_kind, rep_dbg_layer : unsigned(2 downto 0);
        signal rep_dbg_index : unsigned(7 downto 0);
        signal rep_dbg_data  : std_logic_vector(AccBits_c * Lanes_c - 1 downto 0);
    begin
        load_slot <= accept when fill = k else '0';
        i_rep : entity work.mrf_train_replica
            generic map (Layers_g => Layers_g, N0_g => N0_g, N1_g => N1_g, N2_g => N2_g,
                         N3_g => N3_g, N4_g => N4_g, N5_g => N5_g, N6_g => N6_g,
                         N7_g => N7_g, N8_g => N8_g, MasterExtra_g => MasterExtra_g,
                         DeltaBits_g => DeltaBits_g, Debug_g => Debug_g and k = 0)
            port map (
                Clk => Clk, Rst => Rst, Load_Slot => load_slot, In_X => In_X, In_T => In_T,
                Round_Start => round_start, Round_Active => round_act(k),
                Ctl_Op => c_op, Ctl_Addr => c_addr, Ctl_IsBias => c_bias,
                Ctl_First => c_first, Ctl_Fresh => round_fresh, Ctl_Layer => c_layer,
                Nx_Layer => to_unsigned(layer, 3), Ctl_Col => c_col,
                Fin_Hidden => fin_hidden, Fin_Out => fin_out, Fin_Layer => fin_layer,
                Fin_Shift => fin_shift, Cfg_E => e_reg,
                Bp_Valid => bp_valid, Bp_Layer => pipe(2).layer, Bp_Col => pipe(2).col,
                Bp_Shift => bp_shift, Dl_Load => dl_load, Dl_Mask => dl_mask,
                Upd_Rd => uc(0).valid, Upd_Addr => uc(0).addr,
                Wr_Ena => wr_ena, Wr_Addr => wr_addr, Wr_Data => wr_data,
                Upd_P => rep_p(k), Upd_G => rep_g(k), Param_Rd => rep_rd(k),
                Dbg_Valid => rep_dbg_valid, Dbg_Kind => rep_dbg_kind,
                Dbg_Layer => rep_dbg_layer, Dbg_Index => rep_dbg_index,
                Dbg_Data => rep_dbg_data);
        g_trace : if k = 0 generate  -- the trace is replica 0's
            Dbg_Valid <= rep_dbg_valid;
            Dbg_Kind  <= rep_dbg_kind;
            Dbg_Layer <= rep_dbg_layer;
            Dbg_Index <= rep_dbg_index;
            Dbg_Data  <= rep_dbg_data;
        end generate;
    end generate;

    bp_valid <= '1' when pipe(2).op = OpBwd_c and pipe(2).bias = '0' and pipe(2).layer /= 0
                else '0';

    ---------------------------------------------------------------------------------------------
    -- controller: one column per cycle to all replicas (stage 0)
    ---------------------------------------------------------------------------------------------
    in_ready_i <= '1' when state /= Idle_s and fill < spr and left_nz = '1' else '0';
    accept     <= In_Valid and in_ready_i;
    In_Ready   <= in_ready_i;

    p_ctrl : process (Clk)
        variable last_v  : boolean;
    begin
        if rising_edge(Clk) then
            c_op        <= OpNone_c;
            c_bias      <= '0';
            c_first     <= '0';
            dl_load     <= '0';
            seed_load   <= '0';
            fin_hidden  <= '0';
            fin_out     <= '0';
            round_start <= '0';
            Done        <= '0';
            upd_start(1) <= '0';
            c_layer     <= to_unsigned(layer, 3);
            c_addr      <= to_unsigned(layer * Cols_c + col, WtAddrBits_c);
            c_col       <= to_unsigned(col mod 256, 8);
            fin_shift   <= layer_shift(Cfg_Q, layer);
            bp_shift    <= layer_shift(Cfg_Bp, layer);
            e_reg       <= Cfg_E;
            last_v      := col = NIn_c(layer);

            if accept = '1' then
                fill     <= fill + 1;
                acc_left <= acc_left - 1;
                if acc_left = 1 then
                    left_nz <= '0';
                end if;
            end if;
            need_ok <= '1';
            rem_nz  <= '1' when remaining /= 0 else '0';
            if remaining < spr then
                need <= to_integer(remaining(6 downto 0));
            else
                need <= spr;
            end if;

            if state = Idle_s then
                c_addr <= Wt_Addr;
                c_col  <= (others => '0');
                if Wt_RdReq = '1' then
                    c_op <= OpRd_c;
                end if;
                if Start = '1' then
                    seed_load <= Cfg_SeedRng;
                    remaining <= NSamples;
                    acc_left  <= NSamples;
                    left_nz   <= '1' when NSamples /= 0 else '0';
                    need_ok   <= '0';
                    fill      <= 0;
                    batch_cnt <= (others => '0');
                    bmask     <= shift_left(to_unsigned(1, 17), to_integer(Cfg_Log2Batch)) - 1;
                    spr <= K_c;  -- min(R, B)
                    for b in 0 to ULevels_c - 1 loop
                        if to_integer(Cfg_Log2Batch) = b then
                            spr <= 2**b;
                        end if;
                    end loop;
                    col   <= 0;
                    state <= Fetch_s;
                end if;

            elsif state = Fetch_s then  -- start a round when its samples are prefetched
                layer <= 0;
                col   <= 0;
                if need_ok = '0' then
                    null;  -- need, rem_nz follow remaining from the next cycle
                elsif rem_nz = '0' then
                    wait_cnt <= 5;
                    state    <= Drain_s;
                elsif fill = need then
                    round_start <= '1';
                    for k in 0 to K_c - 1 loop
                        round_act(k) <= '1' when k < need else '0';
                    end loop;
                    fill      <= 0;
                    remaining <= remaining - need;
                    need_ok   <= '0';
                    batch_cnt <= batch_cnt + need;
                    round_upd <= '1' when ((batch_cnt + need) and bmask) = 0 else '0';
                    round_fresh <= '1' when (batch_cnt and bmask) = 0 else '0';
                    state     <= Fwd_s;
                end if;

            elsif state = Fwd_s then  -- (column 0 waits until the update wrote this layer)
                if col /= 0 or (upd_ok(layer) = '1' and upd_start = "00") then
                    c_op    <= OpFwd_c;
                    c_bias  <= '1' when last_v else '0';
                    c_first <= '1' when col = 0 else '0';
                    if last_v then
                        wait_cnt <= FwdWait_c;
                        state    <= FwdWait_s;
                    else
                        col <= col + 1;
                    end if;
                end if;

            elsif state = FwdWait_s then  -- acc final after 3 cycles, then the finalisation
                wait_cnt <= wait_cnt - 1;
                if wait_cnt = FinAt_c then
                    fin_layer <= to_unsigned(layer, 3);
                    if layer = Last_c then
                        fin_out <= '1';
                    else
                        fin_hidden <= '1';
                    end if;
                end if;
                if wait_cnt = 1 then
                    col <= 0;
                    if layer = Last_c then
                        state <= Bwd_s;
                    else
                        layer <= layer + 1;
                        state <= Fwd_s;
                    end if;
                end if;

            elsif state = Bwd_s then
                c_op <= OpBwd_c;
                if col = 0 and layer /= Last_c then
                    dl_load <= '1';  -- deltas of this layer, ready since the previous cycle
                    for i in 0 to Lanes_c - 1 loop
                        dl_mask(i) <= '1' when i < NOut_c(layer) else '0';
                    end loop;
                end if;
                -- the update trails the last backward layer (its sums of column j are written
                -- 3 cycles after the issue; the update reads column j 4 cycles after)
                if col = 0 and layer = 0 and round_upd = '1' then
                    upd_start(1) <= '1';
                end if;
                c_bias <= '1' when last_v else '0';
                if last_v then
                    col <= 0;
                    if layer = 0 then
                        state <= Fetch_s;
                    else
                        wait_cnt <= BwdWait_c;
                        state    <= BwdWait_s;
                    end if;
                else
                    col <= col + 1;
                end if;

            elsif state = BwdWait_s then  -- last delta of the layer rounded and stored
                wait_cnt <= wait_cnt - 1;
                if wait_cnt = 1 then
                    layer <= layer - 1;
                    state <= Bwd_s;
                end if;

            elsif state = Drain_s then  -- the last update written
                if u_run = '0' and upd_start = "00" and upd_ok = (upd_ok'range => '1') then
                    wait_cnt <= wait_cnt - 1;
                    if wait_cnt = 1 then
                        Done  <= '1';
                        state <= Idle_s;
                    end if;
                end if;
            end if;

            if Rst = '1' then
                state       <= Idle_s;
                layer       <= 0;
                col         <= 0;
                c_op        <= OpNone_c;
                fill        <= 0;
                spr         <= 0;
                acc_left    <= (others => '0');
                left_nz     <= '0';
                need_ok     <= '0';
                round_start <= '0';
                upd_start(1) <= '0';
            end if;
        end if;
    end process;

    busy_i <= '0' when state = Idle_s else '1';
    Busy   <= busy_i;

    -- stage 0 -> 1 -> 2 control copy for the back-propagation tree (valid with the lane products)
    p_pipe : process (Clk)
    begin
        if rising_edge(Clk) then
            pipe(1) <= (c_op, c_layer, c_col, c_bias);
            pipe(2) <= pipe(1);
            if Rst = '1' then
                pipe <= (others => PipeIdle_c);
            end if;
        end if;
    end process;

    ---------------------------------------------------------------------------------------------
    -- update sequencer: one column of one layer per cycle, layer order (SPEC §4)
    ---------------------------------------------------------------------------------------------
    p_useq : process (Clk)
        variable last_v : boolean;
    begin
        if rising_edge(Clk) then
            upd_start(2) <= upd_start(1);
            uc(0) <= UIdle_c;
            last_v := u_col = NIn_c(u_layer);
            if upd_start(2) = '1' then
                u_run   <= '1';
                u_layer <= 0;
                u_col   <= 0;
            elsif u_run = '1' then
                uc(0).valid <= '1';
                uc(0).addr  <= to_unsigned(u_layer * Cols_c + u_col, WtAddrBits_c);
                uc(0).layer <= to_unsigned(u_layer, 3);
                uc(0).col   <= to_unsigned(u_col mod 256, 8);
                if last_v then
                    uc(0).bias  <= '1';
                    uc(0).shift <= layer_shift(Cfg_Sb, u_layer);
                    u_col <= 0;
                    if u_layer = Last_c then
                        u_run <= '0';
                    else
                        u_layer <= u_layer + 1;
                    end if;
                else
                    uc(0).shift <= layer_shift(Cfg_Sw, u_layer);
                    u_col <= u_col + 1;
                end if;
            end if;
            for s in 1 to UWr_c loop
                uc(s) <= uc(s - 1);
            end loop;
            -- a layer is usable once its bias word (its last column) is written
            if upd_start(2) = '1' then
                for l in 0 to Last_c loop
                    upd_ok(l) <= '0';
                end loop;
            elsif uc(UWr_c).valid = '1' and uc(UWr_c).bias = '1' then
                for l in 0 to Last_c loop
                    if to_integer(uc(UWr_c).layer) = l then
                        upd_ok(l) <= '1';
                    end if;
                end loop;
            end if;
            if Rst = '1' then
                u_run     <= '0';
                uc        <= (others => UIdle_c);
                upd_start(2) <= '0';
                upd_ok    <= (others => '1');
            end if;
        end if;
    end process;

    ---------------------------------------------------------------------------------------------
    -- update datapath, per lane: sum of the replicas' gradient words (registered tree),
    -- SR(G, s, r) = FLOOR(G + (r AND (2^s - 1)), s), new = SAT(m - SR) (SPEC §4)
    ---------------------------------------------------------------------------------------------
    p_leaves : process (all)
    begin
        for k in 0 to K_c - 1 loop
            for i in 0 to Lanes_c - 1 loop
                uleaf(k)(i) <= rep_g(k)(AccBits_c * (i + 1) - 1 downto AccBits_c * i);
            end loop;
        end loop;
    end process;

    p_utree : process (Clk)
    begin
        if rising_edge(Clk) then
            -- (levels enabled by the op's valid bit: idle levels hold, fast in GHDL)
            for k in 0 to K_c / 2 - 1 loop
                for i in 0 to Lanes_c - 1 loop
                    if uc(1).valid = '1' then
                        utree(1, k)(i) <= uleaf(2 * k)(i) + uleaf(2 * k + 1)(i);
                    end if;
                end loop;
            end loop;
            for l in 2 to ULevels_c loop
                for k in 0 to K_c / 2 - 1 loop  -- (entries past a level's width: 0)
                    for i in 0 to Lanes_c - 1 loop
                        if k >= 2**(ULevels_c - l) then
                            utree(l, k)(i) <= (others => '0');
                        elsif uc(l).valid = '1' then
                            utree(l, k)(i) <= utree(l - 1, 2 * k)(i) + utree(l - 1, 2 * k + 1)(i);
                        end if;
                    end loop;
                end loop;
            end loop;
        end if;
    end process;
    g_ut0 : if ULevels_c = 0 generate
        utree_out <= uleaf(0);
    end generate;
    g_utn : if ULevels_c > 0 generate
        utree_out <= utree(ULevels_c, 0);
    end generate;

    p_upd : process (Clk)
        variable rnd_v  : unsigned(31 downto 0);
        variable ok_v   : boolean;
        variable a_v    : UCtl_t;
    begin
        if rising_edge(Clk) then
            -- replica 0's parameter word, delayed to stage A
            pdel(1) <= rep_p(0);
            for s in 2 to USa_c loop
                pdel(s) <= pdel(s - 1);
            end loop;
            -- mask of the random word for the shift of the op entering stage B
            for b in 0 to 31 loop
                u_mask(b) <= '1' when b < to_integer(uc(USa_c - 1).shift) else '0';
            end loop;
            a_v := uc(USa_c - 1);  -- the op whose tree sum is valid now
            for i in 0 to Lanes_c - 1 loop  -- (stages enabled by their op's valid bit)
                -- stage A: advance the lane's generator once per owned word (SPEC §4)
                if a_v.valid = '1' then
                    ga(i) <= utree_out(i);
                end if;
                if a_v.valid = '1' then
                    for l in 0 to Last_c loop
                        if to_integer(a_v.layer) = l and i < NOut_c(l) then
                            lfsr(i) <= xorshift32(lfsr(i));
                        end if;
                    end loop;
                end if;
                -- stage B: G + (r AND mask), r = the advanced state
                rnd_v := unsigned(lfsr(i)) and u_mask;
                if uc(USa_c).valid = '1' then
                    sb(i) <= resize(ga(i), AccBits_c + 1) + signed(resize(rnd_v, AccBits_c + 1));
                end if;
                -- stage C: FLOOR by s (two shifts of at most 7 and 56 bits)
                if uc(USa_c + 1).valid = '1' then
                    sc1(i) <= asr(sb(i), to_integer(uc(USa_c + 1).shift(2 downto 0)));
                end if;
                if uc(USa_c + 2).valid = '1' then
                    sc2(i) <= asr(sc1(i), 8 * to_integer(uc(USa_c + 2).shift(5 downto 3)));
                end if;
                -- stage D: m - SR
                if uc(USa_c + 3).valid = '1' then
                    sd(i) <= resize(pword(pc1, i), AccBits_c + 2) - resize(sc2(i), AccBits_c + 2);
                end if;
                -- stage E1: range of the difference for a 16-bit master or 32-bit bias
                ok_v := true;
                for b in 8 + MasterExtra_g - 1 to AccBits_c loop
                    if sd(i)(b) /= sd(i)(AccBits_c + 1) then
                        ok_v := false;
                    end if;
                end loop;
                se_in16(i) <= '1' when ok_v else '0';
                ok_v := true;
                for b in ParamBits_c - 1 to AccBits_c loop
                    if sd(i)(b) /= sd(i)(AccBits_c + 1) then
                        ok_v := false;
                    end if;
                end loop;
                se_in32(i) <= '1' when ok_v else '0';
                se_neg(i) <= sd(i)(AccBits_c + 1);
                se_low(i) <= sd(i)(ParamBits_c - 1 downto 0);
                -- stage E2: the new word
                if uc(UWr_c - 1).bias = '1' then
                    if se_in32(i) = '1' then
                        u_word(i) <= se_low(i);
                    elsif se_neg(i) = '1' then
                        u_word(i) <= '1' & signed'((ParamBits_c - 2 downto 0 => '0'));
                    else
                        u_word(i) <= '0' & signed'((ParamBits_c - 2 downto 0 => '1'));
                    end if;
                else
                    if se_in16(i) = '1' then
                        u_word(i) <= resize(se_low(i)(8 + MasterExtra_g - 1 downto 0),
                                            ParamBits_c);
                    elsif se_neg(i) = '1' then
                        u_word(i) <= to_signed(-2**(8 + MasterExtra_g - 1), ParamBits_c);
                    else
                        u_word(i) <= to_signed(2**(8 + MasterExtra_g - 1) - 1, ParamBits_c);
                    end if;
                end if;
            end loop;
            pb  <= pdel(USa_c);
            pc1 <= pb;
            u_wr      <= uc(UWr_c - 1).valid;
            u_wr_addr <= uc(UWr_c - 1).addr;

            -- generator seeds and the host's generator words
            for i in 0 to Lanes_c - 1 loop
                if seed_load = '1' then
                    lfsr(i) <= lane_seed(Cfg_Seed, i);
                end if;
                if Wt_WrEna = '1' and state = Idle_s and to_integer(Wt_Lane) = i
                        and Wt_Addr = RngAddr_c then
                    lfsr(i) <= Wt_WrData;
                end if;
            end loop;
            if Rst = '1' then
                u_wr <= '0';
            end if;
        end if;
    end process;

    -- parameter writes into every replica: the updated word, else the host's word (idle only)
    p_wr : process (all)
    begin
        wr_addr <= Wt_Addr;
        for i in 0 to Lanes_c - 1 loop
            wr_ena(i) <= '1' when Wt_WrEna = '1' and state = Idle_s and to_integer(Wt_Lane) = i
                         else '0';
            wr_data(ParamBits_c * (i + 1) - 1 downto ParamBits_c * i) <= signed(Wt_WrData);
            if u_wr = '1' then
                wr_ena(i) <= '1';
                wr_data(ParamBits_c * (i + 1) - 1 downto ParamBits_c * i) <= u_word(i);
            end if;
        end loop;
        if u_wr = '1' then
            wr_addr <= u_wr_addr;
        end if;
    end process;

    ---------------------------------------------------------------------------------------------
    -- verification trace of the updated words (Debug_g)
    ---------------------------------------------------------------------------------------------
    g_udbg : if Debug_g generate
        p_udbg : process (Clk)
        begin
            if rising_edge(Clk) then
                Dbg_UValid <= u_wr and not Rst;
                Dbg_ULayer <= uc(UWr_c).layer;
                Dbg_UIndex <= uc(UWr_c).col;
                for i in 0 to Lanes_c - 1 loop
                    Dbg_UData((i + 1) * AccBits_c - 1 downto i * AccBits_c) <=
                        std_logic_vector(resize(u_word(i), AccBits_c));
                end loop;
            end if;
        end process;
    end generate;

    g_noudbg : if not Debug_g generate
        Dbg_UValid <= '0';
        Dbg_ULayer <= (others => '0');
        Dbg_UIndex <= (others => '0');
        Dbg_UData  <= (others => '0');
    end generate;

    ---------------------------------------------------------------------------------------------
    -- parameter read-back (2 cycles; replica 0, generator states from the update datapath)
    ---------------------------------------------------------------------------------------------
    p_rd : process (Clk)
    begin
        if rising_edge(Clk) then
            rd_pending <= (Wt_RdReq and not busy_i) & rd_pending(1 to 2);
            if Wt_RdReq = '1' and busy_i = '0' then
                rd_lane <= to_integer(Wt_Lane);
                rd_rng  <= '1' when Wt_Addr = RngAddr_c else '0';
            end if;
            if rd_lane < Lanes_c then
                if rd_rng = '1' then
                    Wt_RdData <= lfsr(rd_lane);
                else
                    Wt_RdData <= std_logic_vector(pword(rep_rd(0), rd_lane));
                end if;
            end if;
        end if;
    end process;
    Wt_RdValid <= rd_pending(3);

end architecture;
