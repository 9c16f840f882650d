------------------------------------------------------------------------------------------------
-- mrf_train_replica: one replica of the training datapath (hw/SPEC.md §7): max(n_1 … n_L) lanes,
-- the sample it works on (and the prefetched next one), the activations, the broadcast of one
-- column per cycle, the pipelined finalisation (RHE + CLAMP_U), the output delta (subtract, RHE,
-- SAT), the lanes' back-propagation adder tree (registered after every level) and the
-- back-propagated deltas. All replicas run in lock step under the core's controller on their own
-- samples of a mini-batch; their gradient sums are added by the core at the update.
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.mrf_train_pkg.all;

entity mrf_train_replica is
    generic (
        Layers_g      : positive := 3;
        N0_g          : natural := 16;
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
        Debug_g       : boolean := false
    );
    port (
        Clk         : in  std_logic;
        Rst         : in  std_logic;
        -- sample: prefetch slot load, then copied in at the start of a round
        Load_Slot   : in  std_logic;
        In_X        : in  std_logic_vector(N0_g * 8 - 1 downto 0);
        In_T        : in  std_logic_vector(32 * to_widths(N0_g, N1_g, N2_g, N3_g, N4_g, N5_g,
                                           N6_g, N7_g, N8_g)(Layers_g) - 1 downto 0);
        Round_Start : in  std_logic;
        Round_Active : in std_logic;  -- this replica has a sample in the round starting now
        -- lane control (stage 0) and broadcast selection
        Ctl_Op      : in  std_logic_vector(2 downto 0);
        Ctl_Addr    : in  unsigned(WtAddrBits_c - 1 downto 0);
        Ctl_IsBias  : in  std_logic;
        Ctl_First   : in  std_logic;
        Ctl_Fresh   : in  std_logic;
        Ctl_Layer   : in  unsigned(2 downto 0);
        Nx_Layer    : in  unsigned(2 downto 0);  -- the controller's layer (a cycle ahead)
        Ctl_Col     : in  unsigned(7 downto 0);
        -- finalisation: hidden layer Fin_Layer (0-based) done, or the output layer
        Fin_Hidden  : in  std_logic;
        Fin_Out     : in  std_logic;
        Fin_Layer   : in  unsigned(2 downto 0);
        Fin_Shift   : in  unsigned(ShiftBits_c - 1 downto 0);  -- q of Fin_Layer (registered)
        Cfg_E       : in  unsigned(ShiftBits_c - 1 downto 0);
        -- back-propagation: the column whose lane products are valid now (stage 3)
        Bp_Valid    : in  std_logic;  -- a weight column of a layer > 0
        Bp_Layer    : in  unsigned(2 downto 0);
        Bp_Col      : in  unsigned(7 downto 0);
        Bp_Shift    : in  unsigned(ShiftBits_c - 1 downto 0);  -- bp of the layer (registered)
        Dl_Load     : in  std_logic;  -- load the back-propagated deltas into the lanes
        Dl_Mask     : in  std_logic_vector(lanes_of(Layers_g, to_widths(N0_g, N1_g, N2_g, N3_g,
                                           N4_g, N5_g, N6_g, N7_g, N8_g)) - 1 downto 0);
        -- update read and parameter write, one field per lane
        Upd_Rd      : in  std_logic;
        Upd_Addr    : in  unsigned(WtAddrBits_c - 1 downto 0);
        Wr_Ena      : in  std_logic_vector(lanes_of(Layers_g, to_widths(N0_g, N1_g, N2_g, N3_g,
                                           N4_g, N5_g, N6_g, N7_g, N8_g)) - 1 downto 0);
        Wr_Addr     : in  unsigned(WtAddrBits_c - 1 downto 0);
        Wr_Data     : in  signed(ParamBits_c * lanes_of(Layers_g, to_widths(N0_g, N1_g, N2_g,
                                           N3_g, N4_g, N5_g, N6_g, N7_g, N8_g)) - 1 downto 0);
        Upd_P       : out signed(ParamBits_c * lanes_of(Layers_g, to_widths(N0_g, N1_g, N2_g,
                                           N3_g, N4_g, N5_g, N6_g, N7_g, N8_g)) - 1 downto 0);
        Upd_G       : out signed(AccBits_c * lanes_of(Layers_g, to_widths(N0_g, N1_g, N2_g,
                                           N3_g, N4_g, N5_g, N6_g, N7_g, N8_g)) - 1 downto 0);
        Param_Rd    : out signed(ParamBits_c * lanes_of(Layers_g, to_widths(N0_g, N1_g, N2_g,
                                           N3_g, N4_g, N5_g, N6_g, N7_g, N8_g)) - 1 downto 0);
        -- verification trace (Debug_g): activations, output acc, output deltas, deltas
        Dbg_Valid   : out std_logic;
        Dbg_Kind    : out unsigned(2 downto 0);
        Dbg_Layer   : out unsigned(2 downto 0);
        Dbg_Index   : out unsigned(7 downto 0);
        Dbg_Data    : out std_logic_vector(AccBits_c * lanes_of(Layers_g, to_widths(N0_g, N1_g,
                                           N2_g, N3_g, N4_g, N5_g, N6_g, N7_g, N8_g)) - 1 downto 0)
    );
end entity;

architecture rtl of mrf_train_replica is

    constant W_c        : Widths_t := to_widths(N0_g, N1_g, N2_g, N3_g, N4_g, N5_g, N6_g, N7_g,
                                                N8_g);
    constant Last_c     : natural := Layers_g - 1;
    constant NOutL_c    : natural := W_c(Layers_g);
    constant Lanes_c    : natural := lanes_of(Layers_g, W_c);
    constant Cols_c     : natural := cols_of(Layers_g, W_c);
    constant Levels_c   : natural := log2ceil(Lanes_c);
    constant Leaves_c   : natural := 2**Levels_c;
    constant TreeBits_c : natural := 8 + DeltaBits_g + Levels_c + 1;
    constant BpLat_c    : natural := Levels_c + RoundLat_c;  -- tree + rounding

    type Act_t is array (0 to Last_c, 0 to Cols_c - 1) of signed(ActBits_c - 1 downto 0);
    type XArr_t is array (0 to Cols_c - 1) of signed(ActBits_c - 1 downto 0);
    type DeltaArr_t is array (0 to Cols_c - 1) of signed(DeltaBits_g - 1 downto 0);
    type Target_t is array (0 to NOutL_c - 1) of signed(31 downto 0);
    type AccArr_t is array (0 to Lanes_c - 1) of signed(AccBits_c - 1 downto 0);
    type DlArr_t is array (0 to Lanes_c - 1) of signed(DeltaBits_g - 1 downto 0);
    type BpArr_t is array (0 to Lanes_c - 1) of signed(8 + DeltaBits_g - 1 downto 0);
    type YArr_t is array (0 to Lanes_c - 1) of signed(ActBits_c - 1 downto 0);
    type ErrArr_t is array (0 to NOutL_c - 1) of signed(AccBits_c downto 0);
    type OdArr_t is array (0 to NOutL_c - 1) of signed(DeltaBits_g - 1 downto 0);
    type Leaf_t is array (0 to Leaves_c - 1) of signed(TreeBits_c - 1 downto 0);
    type Tree_t is array (1 to Levels_c, 0 to Leaves_c / 2 - 1) of signed(TreeBits_c - 1 downto 0);

    signal xin, nx    : XArr_t := (others => (others => '0'));
    signal target, nt : Target_t := (others => (others => '0'));
    signal active     : std_logic := '0';
    signal act        : Act_t := (others => (others => (others => '0')));
    signal dprev      : DeltaArr_t := (others => (others => '0'));
    signal bc_y       : signed(ActBits_c - 1 downto 0);
    signal row        : XArr_t := (others => (others => '0'));  -- inputs of the current layer
    signal live       : std_logic_vector(Cols_c - 1 downto 0) := (others => '0');

    signal lane_acc   : AccArr_t;
    signal lane_delta : DlArr_t;
    signal lane_bp    : BpArr_t;
    signal dl_value   : DlArr_t;
    signal lane_dl    : std_logic;

    signal fin_y      : YArr_t;
    signal err        : ErrArr_t;
    signal od         : OdArr_t;
    signal leaf       : Leaf_t;
    signal tree       : Tree_t := (others => (others => (others => '0')));
    signal tree_out   : signed(TreeBits_c - 1 downto 0);
    signal tree_valid : std_logic;
    signal bp_round   : signed(DeltaBits_g - 1 downto 0);

    -- delay lines of the control that travels with the data
    signal fin_d      : std_logic_vector(1 to RoundLat_c) := (others => '0');
    signal fin_layer_d : unsigned(2 downto 0);
    signal out_d      : std_logic_vector(0 to RoundLat_c) := (others => '0');
    type BpPipe_t is record
        valid : std_logic;
        layer : unsigned(2 downto 0);
        col   : unsigned(7 downto 0);
        live  : std_logic;  -- sigma': 0 < y < 255
    end record;
    type BpPipeArr_t is array (1 to BpLat_c) of BpPipe_t;
    signal bpp        : BpPipeArr_t := (others => ('0', (others => '0'), (others => '0'), '0'));
    signal bp_out     : BpPipe_t := ('0', (others => '0'), (others => '0'), '0');
    signal bp_delta   : signed(DeltaBits_g - 1 downto 0);

begin

    ---------------------------------------------------------------------------------------------
    -- lanes
    ---------------------------------------------------------------------------------------------
    g_lanes : for i in 0 to Lanes_c - 1 generate
        i_lane : entity work.mrf_train_lane
            generic map (Layers_g => Layers_g, Cols_g => Cols_c, MasterExtra_g => MasterExtra_g,
                         DeltaBits_g => DeltaBits_g)
            port map (
                Clk => Clk, Rst => Rst,
                Ctl_Op => Ctl_Op, Ctl_Addr => Ctl_Addr, Ctl_IsBias => Ctl_IsBias,
                Ctl_First => Ctl_First, Ctl_Fresh => Ctl_Fresh, Bc_Y => bc_y,
                Dl_Load => lane_dl, Dl_Value => dl_value(i),
                Upd_Rd => Upd_Rd, Upd_Addr => Upd_Addr,
                Wr_Ena => Wr_Ena(i), Wr_Addr => Wr_Addr,
                Wr_Data => Wr_Data(ParamBits_c * (i + 1) - 1 downto ParamBits_c * i),
                Acc_Out => lane_acc(i), Delta_Out => lane_delta(i), Bp_Prod => lane_bp(i),
                Param_Rd => Param_Rd(ParamBits_c * (i + 1) - 1 downto ParamBits_c * i),
                Upd_P => Upd_P(ParamBits_c * (i + 1) - 1 downto ParamBits_c * i),
                Upd_G => Upd_G(AccBits_c * (i + 1) - 1 downto AccBits_c * i));
    end generate;

    ---------------------------------------------------------------------------------------------
    -- sample: prefetch slot and working copy
    ---------------------------------------------------------------------------------------------
    p_sample : process (Clk)
    begin
        if rising_edge(Clk) then
            if Load_Slot = '1' then
                for j in 0 to Cols_c - 1 loop  -- every entry driven (no undriven bits)
                    nx(j) <= (others => '0');
                    if j < N0_g then
                        nx(j) <= resize(signed(In_X(8 * j + 7 downto 8 * j)), ActBits_c);
                    end if;
                end loop;
                for i in 0 to NOutL_c - 1 loop
                    nt(i) <= signed(In_T(32 * i + 31 downto 32 * i));
                end loop;
            end if;
            if Round_Start = '1' then
                xin    <= nx;
                target <= nt;
                active <= Round_Active;
            end if;
        end if;
    end process;

    ---------------------------------------------------------------------------------------------
    -- broadcast (stage 0 -> 1; bias column: 1)
    ---------------------------------------------------------------------------------------------
    -- two short mux stages instead of one wide one: the row of the controller's current layer
    -- (Nx_Layer, one cycle ahead of Ctl_Layer; the next sample at a round start) is registered
    -- with its sigma' bits, then the column is picked from it
    p_bc : process (Clk)
    begin
        if rising_edge(Clk) then
            for j in 0 to Cols_c - 1 loop
                if Round_Start = '1' then
                    row(j) <= nx(j);
                elsif Nx_Layer = 0 then
                    row(j) <= xin(j);
                else
                    row(j) <= (others => '0');
                    for l in 1 to Last_c loop
                        if to_integer(Nx_Layer) = l then
                            row(j) <= act(l, j);
                        end if;
                    end loop;
                end if;
            end loop;
            for j in 0 to Cols_c - 1 loop
                live(j) <= '1' when row(j) > 0 and row(j) < 255 else '0';
            end loop;
            if Ctl_IsBias = '1' then
                bc_y <= to_signed(1, ActBits_c);
            elsif to_integer(Ctl_Col) >= Cols_c then
                bc_y <= (others => '0');
            else
                bc_y <= row(to_integer(Ctl_Col));
            end if;
        end if;
    end process;

    ---------------------------------------------------------------------------------------------
    -- hidden finalisation: y = CLAMP_U(RHE(acc, q)), RoundLat_c cycles, into act(layer + 1)
    ---------------------------------------------------------------------------------------------
    g_fin : for i in 0 to Lanes_c - 1 generate
        i_round : entity work.mrf_train_round
            generic map (InBits_g => AccBits_c, OutBits_g => ActBits_c, Clamp_g => true)
            port map (Clk => Clk, In_Valid => Fin_Hidden, In_Value => lane_acc(i),
                      In_Shift => Fin_Shift,
                      Out_Value => fin_y(i));
    end generate;

    p_fin : process (Clk)
    begin
        if rising_edge(Clk) then
            fin_d <= Fin_Hidden & fin_d(1 to RoundLat_c - 1);
            if Fin_Hidden = '1' then
                fin_layer_d <= Fin_Layer;
            end if;
            -- (writes at constant indices under a compare: GHDL 2.0's synthesis turns a clocked
            -- write at a variable index of a 2-D array into latches)
            for i in 0 to Cols_c - 1 loop  -- (act(0) unused: y_0 is xin; driven, constant)
                act(0, i) <= (others => '0');
            end loop;
            if fin_d(RoundLat_c) = '1' then
                for l in 1 to Last_c loop
                    if to_integer(fin_layer_d) + 1 = l then
                        for i in 0 to Cols_c - 1 loop
                            if i < Lanes_c then
                                act(l, i) <= fin_y(i);
                            else
                                act(l, i) <= (others => '0');
                            end if;
                        end loop;
                    end if;
                end loop;
            end if;
        end if;
    end process;

    ---------------------------------------------------------------------------------------------
    -- output delta: e = acc - t (registered), SAT(RHE(e, E)) in RoundLat_c cycles; 0 for a
    -- replica without a sample in this round (it adds nothing to the gradient sums)
    ---------------------------------------------------------------------------------------------
    p_err : process (Clk)
    begin
        if rising_edge(Clk) then
            out_d <= Fin_Out & out_d(0 to RoundLat_c - 1);
            for i in 0 to NOutL_c - 1 loop
                if Fin_Out = '1' then
                    err(i) <= resize(lane_acc(i), AccBits_c + 1) - resize(target(i), AccBits_c + 1);
                end if;
            end loop;
        end if;
    end process;

    g_od : for i in 0 to NOutL_c - 1 generate
        i_round : entity work.mrf_train_round
            generic map (InBits_g => AccBits_c + 1, OutBits_g => DeltaBits_g, Clamp_g => false)
            port map (Clk => Clk, In_Valid => out_d(0), In_Value => err(i), In_Shift => Cfg_E,
                      Out_Value => od(i));
    end generate;

    ---------------------------------------------------------------------------------------------
    -- back-propagation: adder tree over the lanes (a register after every level), RHE + SAT,
    -- sigma' of the stored activation, into dprev(column)
    ---------------------------------------------------------------------------------------------
    p_tree : process (Clk)
    begin
        if rising_edge(Clk) then
            -- (levels enabled by the column's valid bit: idle levels hold, fast in GHDL)
            for k in 0 to Leaves_c / 2 - 1 loop
                if Bp_Valid = '1' then
                    tree(1, k) <= leaf(2 * k) + leaf(2 * k + 1);
                end if;
            end loop;
            for l in 2 to Levels_c loop
                for k in 0 to Leaves_c / 2 - 1 loop  -- (entries past a level's width: 0)
                    if k >= Leaves_c / 2**l then
                        tree(l, k) <= (others => '0');
                    elsif bpp(l - 1).valid = '1' then
                        tree(l, k) <= tree(l - 1, 2 * k) + tree(l - 1, 2 * k + 1);
                    end if;
                end loop;
            end loop;
            bpp(1) <= (Bp_Valid, Bp_Layer, Bp_Col, '0');
            if to_integer(Bp_Col) < Cols_c then  -- (row = the layer's inputs during its pass)
                bpp(1).live <= live(to_integer(Bp_Col));
            end if;
            for s in 2 to BpLat_c loop
                bpp(s) <= bpp(s - 1);
            end loop;
            bp_out.valid <= '0';
            if bpp(BpLat_c).valid = '1' then
                for j in 0 to Cols_c - 1 loop
                    if to_integer(bpp(BpLat_c).col) = j then
                        if bpp(BpLat_c).live = '1' then
                            dprev(j) <= bp_round;
                        else
                            dprev(j) <= (others => '0');
                        end if;
                    end if;
                end loop;
                bp_out <= bpp(BpLat_c);
                bp_delta <= (others => '0');
                if bpp(BpLat_c).live = '1' then
                    bp_delta <= bp_round;
                end if;
            end if;
        end if;
    end process;

    -- tree leaves: the lanes' products (the stage-2 registers), zero-padded
    p_leaf : process (all)
    begin
        for k in 0 to Leaves_c - 1 loop
            leaf(k) <= (others => '0');
            if k < Lanes_c then
                leaf(k) <= resize(lane_bp(k), TreeBits_c);
            end if;
        end loop;
    end process;
    g_t0 : if Levels_c = 0 generate
        tree_out   <= leaf(0);
        tree_valid <= Bp_Valid;
    end generate;
    g_tn : if Levels_c > 0 generate
        tree_out   <= tree(Levels_c, 0);
        tree_valid <= bpp(Levels_c).valid;
    end generate;

    i_bp_round : entity work.mrf_train_round
        generic map (InBits_g => TreeBits_c, OutBits_g => DeltaBits_g, Clamp_g => false)
        port map (Clk => Clk, In_Valid => tree_valid, In_Value => tree_out, In_Shift => Bp_Shift,
                  Out_Value => bp_round);

    -- lane deltas: the output deltas when they are ready, else the back-propagated ones
    lane_dl <= out_d(RoundLat_c) or Dl_Load;
    p_dl : process (all)
    begin
        for i in 0 to Lanes_c - 1 loop
            dl_value(i) <= (others => '0');
            if out_d(RoundLat_c) = '1' then
                if i < NOutL_c and active = '1' then
                    dl_value(i) <= od(i);
                end if;
            elsif i < Cols_c and Dl_Mask(i) = '1' then
                dl_value(i) <= dprev(i);
            end if;
        end loop;
    end process;

    ---------------------------------------------------------------------------------------------
    -- verification trace (Debug_g): observes the datapath, never drives it
    ---------------------------------------------------------------------------------------------
    g_dbg : if Debug_g generate
        p_dbg : process (Clk)
        begin
            if rising_edge(Clk) then
                Dbg_Valid <= '0';
                Dbg_Data  <= (others => '0');
                Dbg_Index <= (others => '0');
                if bp_out.valid = '1' then
                    Dbg_Valid <= '1';
                    Dbg_Kind  <= to_unsigned(DbgDp_c, 3);
                    Dbg_Layer <= bp_out.layer - 1;
                    Dbg_Index <= bp_out.col;
                    Dbg_Data(AccBits_c - 1 downto 0) <=
                        std_logic_vector(resize(bp_delta, AccBits_c));
                end if;
                if fin_d(RoundLat_c) = '1' then
                    Dbg_Valid <= '1';
                    Dbg_Kind  <= to_unsigned(DbgY_c, 3);
                    Dbg_Layer <= fin_layer_d;
                    for i in 0 to Lanes_c - 1 loop
                        Dbg_Data((i + 1) * AccBits_c - 1 downto i * AccBits_c) <=
                            std_logic_vector(resize(fin_y(i), AccBits_c));
                    end loop;
                end if;
                if out_d(0) = '1' then  -- output accumulators, the cycle after Fin_Out
                    Dbg_Valid <= '1';
                    Dbg_Kind  <= to_unsigned(DbgAcc_c, 3);
                    Dbg_Layer <= to_unsigned(Last_c, 3);
                    for i in 0 to Lanes_c - 1 loop
                        Dbg_Data((i + 1) * AccBits_c - 1 downto i * AccBits_c) <=
                            std_logic_vector(lane_acc(i));
                    end loop;
                end if;
                if out_d(RoundLat_c) = '1' then
                    Dbg_Valid <= '1';
                    Dbg_Kind  <= to_unsigned(DbgDl_c, 3);
                    Dbg_Layer <= to_unsigned(Last_c, 3);
                    for i in 0 to Lanes_c - 1 loop
                        Dbg_Data((i + 1) * AccBits_c - 1 downto i * AccBits_c) <=
                            std_logic_vector(resize(dl_value(i), AccBits_c));
                    end loop;
                end if;
                if Rst = '1' then
                    Dbg_Valid <= '0';
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

end architecture;
