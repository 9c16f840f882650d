------------------------------------------------------------------------------------------------
-- mrf_train_lane: one neuron lane of one replica of the training engine (hw/SPEC.md §7).
-- Lane i holds row i of every layer: master weights and bias (parameter RAM, 32-bit words) and
-- this replica's exact gradient sums (gradient RAM, 48-bit), both lane-local inferred RAM,
-- address = layer * Cols_g + column (column n_in of a layer is its bias).
-- Forward/backward pipeline: stage 0 address/control in, stage 1 RAM data out (registered), stage
-- 2 registered products (DSP inputs and outputs registered), accumulate / write back.
-- Every product is at most 18 bits wide, one DSP48 each, with no adder behind it: the int16
-- delta is split into a signed high byte and an unsigned low byte (GHDL's Verilog widens both
-- operands of a product to its width, and a wider product would be split across DSPs with the
-- partial products added in fabric after them).
-- The weight update is not computed here: the core reads the gradient words of every replica and
-- the parameter word of replica 0 (Upd_ port: second read ports), sums, rounds and writes the new
-- word into every replica (Wr_ port). The gradient RAM is written by the backward pass only: the
-- first round of a mini-batch (Ctl_Fresh) writes the product alone instead of adding it, so the
-- update may read a layer's sums while the backward pass writes the next ones, and nothing has to
-- clear them.
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.mrf_train_pkg.all;

entity mrf_train_lane is
    generic (
        Layers_g      : positive := 3;
        Cols_g        : natural := 17;  -- address stride per layer (max n_in + 1)
        MasterExtra_g : natural := 8;
        DeltaBits_g   : natural := 16
    );
    port (
        Clk          : in  std_logic;
        Rst          : in  std_logic;
        -- stage 0 control (forward, backward, clear, read)
        Ctl_Op       : in  std_logic_vector(2 downto 0);
        Ctl_Addr     : in  unsigned(WtAddrBits_c - 1 downto 0);
        Ctl_IsBias   : in  std_logic;
        Ctl_First    : in  std_logic;
        Ctl_Fresh    : in  std_logic;  -- backward: G = product (first round of a mini-batch)
        -- stage 1 broadcast activation (1 for the bias column)
        Bc_Y         : in  signed(ActBits_c - 1 downto 0);
        -- delta load
        Dl_Load      : in  std_logic;
        Dl_Value     : in  signed(DeltaBits_g - 1 downto 0);
        -- update read: Upd_P / Upd_G valid one cycle later
        Upd_Rd       : in  std_logic;
        Upd_Addr     : in  unsigned(WtAddrBits_c - 1 downto 0);
        -- parameter write (updated word, or the host's word while idle)
        Wr_Ena       : in  std_logic;
        Wr_Addr      : in  unsigned(WtAddrBits_c - 1 downto 0);
        Wr_Data      : in  signed(ParamBits_c - 1 downto 0);
        -- outputs
        Acc_Out      : out signed(AccBits_c - 1 downto 0);
        Delta_Out    : out signed(DeltaBits_g - 1 downto 0);
        Bp_Prod      : out signed(8 + DeltaBits_g - 1 downto 0);  -- valid in stage 3
        Param_Rd     : out signed(ParamBits_c - 1 downto 0);      -- valid in stage 1
        Upd_P        : out signed(ParamBits_c - 1 downto 0);
        Upd_G        : out signed(AccBits_c - 1 downto 0)
    );
end entity;

architecture rtl of mrf_train_lane is

    constant Depth_c  : natural := Layers_g * Cols_g;
    constant GpBits_c : natural := DeltaBits_g + ActBits_c;

    type ParamRam_t is array (0 to Depth_c - 1) of signed(ParamBits_c - 1 downto 0);
    type GradRam_t is array (0 to Depth_c - 1) of signed(AccBits_c - 1 downto 0);

    signal p_rd, p_rdb       : signed(ParamBits_c - 1 downto 0);
    signal g_rd, g_rdb, g_wd : signed(AccBits_c - 1 downto 0);
    signal g_we              : std_logic;
    signal g_wa              : unsigned(WtAddrBits_c - 1 downto 0);

    -- stage 1 control
    signal s1_op             : std_logic_vector(2 downto 0) := OpNone_c;
    signal s1_addr           : unsigned(WtAddrBits_c - 1 downto 0);
    signal s1_bias, s1_first, s1_fresh : std_logic;
    -- stage 2
    signal s2_op             : std_logic_vector(2 downto 0) := OpNone_c;
    signal s2_addr           : unsigned(WtAddrBits_c - 1 downto 0);
    signal s2_bias, s2_first : std_logic;
    signal s2_prod           : signed(8 + ActBits_c - 1 downto 0);
    signal s2_pb             : signed(ParamBits_c - 1 downto 0);
    signal s2_g              : signed(AccBits_c - 1 downto 0);
    -- partial products: w * delta_hi, w * delta_lo, y * delta_hi, y * delta_lo
    signal s2_bph            : signed(8 + DeltaBits_g - 8 - 1 downto 0);
    signal s2_bpl            : signed(8 + 9 - 1 downto 0);
    signal s2_gph            : signed(ActBits_c + DeltaBits_g - 8 - 1 downto 0);
    signal s2_gpl            : signed(ActBits_c + 9 - 1 downto 0);
    signal s2_gp             : signed(GpBits_c - 1 downto 0);

    signal acc               : signed(AccBits_c - 1 downto 0);
    signal delta             : signed(DeltaBits_g - 1 downto 0);

begin

    assert DeltaBits_g >= 9 report "DeltaBits_g must be >= 9 (split products)" severity failure;

    -- lane-local RAMs (synchronous read; contents as process variables: inferred as RAM, fast in
    -- GHDL). Parameter RAM: read port A (forward, backward, host read), read port B (update).
    p_pram : process (Clk)
        variable ram_v : ParamRam_t := (others => (others => '0'));
    begin
        if rising_edge(Clk) then
            if Ctl_Op /= OpNone_c and Ctl_Addr < Depth_c then
                p_rd <= ram_v(to_integer(Ctl_Addr));
            end if;
            if Upd_Rd = '1' and Upd_Addr < Depth_c then
                p_rdb <= ram_v(to_integer(Upd_Addr));
            end if;
            if Wr_Ena = '1' and Wr_Addr < Depth_c then  -- (address Depth_c: generator state)
                ram_v(to_integer(Wr_Addr)) := Wr_Data;
            end if;
        end if;
    end process;

    p_gram : process (Clk)
        variable ram_v : GradRam_t := (others => (others => '0'));
    begin
        if rising_edge(Clk) then
            if Ctl_Op = OpBwd_c and Ctl_Addr < Depth_c then
                g_rd <= ram_v(to_integer(Ctl_Addr));
            end if;
            if Upd_Rd = '1' and Upd_Addr < Depth_c then
                g_rdb <= ram_v(to_integer(Upd_Addr));
            end if;
            if g_we = '1' and g_wa < Depth_c then
                ram_v(to_integer(g_wa)) := g_wd;
            end if;
        end if;
    end process;

    -- gradient write back (stage 2; two adds after registers)
    g_we <= '1' when s2_op = OpBwd_c else '0';
    g_wa <= s2_addr;
    g_wd <= s2_g + resize(s2_gp, AccBits_c);

    -- the products, reassembled from the registered partial products: hi * 256 + lo, the low
    -- byte is lo's, the rest is hi + lo / 256 added at hi's own width (exact: the full products
    -- fit). No product is sign-extended into an adder: Yosys 0.23 packs such an adder into the
    -- product's DSP as its post-adder, where the product is the unsigned one of GHDL's widened
    -- operands, whose upper bits are not the sign extension (the mapped netlist then differs).
    s2_gp <= (s2_gph + resize(s2_gpl(s2_gpl'high downto 8), s2_gph'length))
             & s2_gpl(7 downto 0);
    Bp_Prod <= (s2_bph + resize(s2_bpl(s2_bpl'high downto 8), s2_bph'length))
               & s2_bpl(7 downto 0);

    p_pipe : process (Clk)
        variable w_v  : signed(7 downto 0);
        variable dh_v : signed(DeltaBits_g - 8 - 1 downto 0);
        variable dl_v : signed(8 downto 0);
    begin
        if rising_edge(Clk) then
            -- stage 0 -> 1
            s1_op    <= Ctl_Op;
            s1_addr  <= Ctl_Addr;
            s1_bias  <= Ctl_IsBias;
            s1_first <= Ctl_First;
            s1_fresh <= Ctl_Fresh;

            -- stage 1 -> 2: products from registers into registers (DSP input and output)
            w_v := p_rd(MasterExtra_g + 7 downto MasterExtra_g);  -- FLOOR(m, E) (m fits int16)
            s2_op    <= s1_op;
            s2_addr  <= s1_addr;
            s2_bias  <= s1_bias;
            s2_first <= s1_first;
            if s1_op = OpFwd_c then
                s2_prod <= w_v * Bc_Y;
                s2_pb   <= p_rd;
            end if;
            if s1_op = OpBwd_c then  -- delta = dh * 256 + dl, dl unsigned
                dh_v   := delta(DeltaBits_g - 1 downto 8);
                dl_v   := signed('0' & std_logic_vector(delta(7 downto 0)));
                s2_g   <= (others => '0');
                if s1_fresh = '0' then
                    s2_g <= g_rd;
                end if;
                s2_bph <= w_v * dh_v;  -- (bias column: unused by the tree's consumer)
                s2_bpl <= w_v * dl_v;
                s2_gph <= Bc_Y * dh_v;
                s2_gpl <= Bc_Y * dl_v;
            end if;

            -- stage 2: accumulate (the bias column brings the bias itself)
            if s2_op = OpFwd_c then
                if s2_first = '1' then
                    acc <= resize(s2_prod, AccBits_c);
                elsif s2_bias = '1' then
                    acc <= acc + resize(s2_pb, AccBits_c);
                else
                    acc <= acc + resize(s2_prod, AccBits_c);
                end if;
            end if;

            if Dl_Load = '1' then
                delta <= Dl_Value;
            end if;

            if Rst = '1' then
                s1_op <= OpNone_c;
                s2_op <= OpNone_c;
            end if;
        end if;
    end process;

    Acc_Out   <= acc;
    Delta_Out <= delta;
    Param_Rd  <= p_rd;
    Upd_P     <= p_rdb;
    Upd_G     <= g_rdb;

end architecture;
