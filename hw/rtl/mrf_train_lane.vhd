------------------------------------------------------------------------------------------------
-- mrf_train_lane: one neuron lane of the training engine (hw/SPEC.md §7).
-- Lane i holds row i of every layer: master weights and bias (parameter RAM, 32-bit words) and
-- the exact gradient sums (gradient RAM, 48-bit), both lane-local inferred simple-dual-port RAM,
-- address = layer * Cols_g + column (column n_in of a layer is its bias). The external port's
-- address Layers_g * Cols_g is the lane's generator state (load and read back, SPEC §8).
-- Pipeline: stage 0 address/control in, stage 1 RAM data out + multiplies, stage 2 accumulate /
-- write back. The lane's xorshift32 generator advances once per updated word of an owned row.
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.mrf_train_pkg.all;

entity mrf_train_lane is
    generic (
        Lane_g        : natural := 0;
        Layers_g      : positive := 3;
        Active_g      : std_logic_vector(MaxLayers_c - 1 downto 0) := x"07";  -- bit l: owns a row
        Cols_g        : natural := 17;  -- address stride per layer (max n_in + 1)
        MasterExtra_g : natural := 8;
        DeltaBits_g   : natural := 16
    );
    port (
        Clk          : in  std_logic;
        Rst          : in  std_logic;
        -- stage 0 control
        Ctl_Op       : in  std_logic_vector(2 downto 0);
        Ctl_Layer    : in  unsigned(2 downto 0);
        Ctl_Addr     : in  unsigned(WtAddrBits_c - 1 downto 0);
        Ctl_IsBias   : in  std_logic;
        Ctl_First    : in  std_logic;
        Ctl_Shift    : in  unsigned(ShiftBits_c - 1 downto 0);
        -- stage 1 broadcast activation (1 for the bias column)
        Bc_Y         : in  signed(ActBits_c - 1 downto 0);
        -- delta load and generator seed
        Dl_Load      : in  std_logic;
        Dl_Value     : in  signed(DeltaBits_g - 1 downto 0);
        Seed_Load    : in  std_logic;
        Seed         : in  std_logic_vector(31 downto 0);
        -- external parameter write (idle only)
        Ext_WrEna    : in  std_logic;
        Ext_Addr     : in  unsigned(WtAddrBits_c - 1 downto 0);
        Ext_WrData   : in  signed(ParamBits_c - 1 downto 0);
        -- outputs
        Acc_Out      : out signed(AccBits_c - 1 downto 0);
        Delta_Out    : out signed(DeltaBits_g - 1 downto 0);
        Bp_Prod      : out signed(8 + DeltaBits_g - 1 downto 0);  -- valid in stage 2
        New_Out      : out signed(ParamBits_c - 1 downto 0);      -- valid in stage 3
        Param_Rd     : out signed(ParamBits_c - 1 downto 0);      -- valid in stage 1
        Rng_Out      : out std_logic_vector(31 downto 0)          -- generator state
    );
end entity;

architecture rtl of mrf_train_lane is

    constant Depth_c      : natural := Layers_g * Cols_g;
    constant MasterBits_c : natural := 8 + MasterExtra_g;
    constant GpBits_c     : natural := DeltaBits_g + ActBits_c;

    type ParamRam_t is array (0 to Depth_c - 1) of signed(ParamBits_c - 1 downto 0);
    type GradRam_t is array (0 to Depth_c - 1) of signed(AccBits_c - 1 downto 0);


    -- RAM ports
    signal p_rd, p_wd        : signed(ParamBits_c - 1 downto 0);
    signal g_rd, g_wd        : signed(AccBits_c - 1 downto 0);
    signal p_we, g_we        : std_logic;
    signal p_wa, g_wa        : unsigned(WtAddrBits_c - 1 downto 0);

    -- stage 1 control
    signal s1_op             : std_logic_vector(2 downto 0) := OpNone_c;
    signal s1_addr           : unsigned(WtAddrBits_c - 1 downto 0);
    signal s1_bias, s1_first : std_logic;
    signal s1_shift          : unsigned(ShiftBits_c - 1 downto 0);
    signal s1_active         : std_logic;
    -- stage 2
    signal s2_op             : std_logic_vector(2 downto 0) := OpNone_c;
    signal s2_addr           : unsigned(WtAddrBits_c - 1 downto 0);
    signal s2_bias, s2_first : std_logic;
    signal s2_shift          : unsigned(ShiftBits_c - 1 downto 0);
    signal s2_prod           : signed(AccBits_c - 1 downto 0);
    signal s2_gp             : signed(GpBits_c - 1 downto 0);
    signal s2_g              : signed(AccBits_c - 1 downto 0);
    signal s2_sum            : signed(AccBits_c downto 0);
    signal s2_p              : signed(ParamBits_c - 1 downto 0);
    signal s2_bp             : signed(8 + DeltaBits_g - 1 downto 0);

    signal acc               : signed(AccBits_c - 1 downto 0);
    signal delta             : signed(DeltaBits_g - 1 downto 0);
    signal lfsr              : std_logic_vector(31 downto 0);
    signal new_word          : signed(ParamBits_c - 1 downto 0);

    function is_active(layer : unsigned(2 downto 0)) return std_logic is
    begin
        for l in 0 to MaxLayers_c - 1 loop
            if to_integer(layer) = l then
                return Active_g(l);
            end if;
        end loop;
        return '0';
    end function;

begin

    -- lane-local simple dual-port RAMs (synchronous read)
    -- (RAM contents as process variables: inferred as RAM, and fast in GHDL)
    p_pram : process (Clk)
        variable ram_v : ParamRam_t := (others => (others => '0'));
    begin
        if rising_edge(Clk) then
            if Ctl_Op /= OpNone_c and Ctl_Addr < Depth_c then
                p_rd <= ram_v(to_integer(Ctl_Addr));
            end if;
            if p_we = '1' and p_wa < Depth_c then  -- (address Depth_c: the generator state)
                ram_v(to_integer(p_wa)) := p_wd;
            end if;
        end if;
    end process;

    p_gram : process (Clk)
        variable ram_v : GradRam_t := (others => (others => '0'));
    begin
        if rising_edge(Clk) then
            if Ctl_Op = OpBwd_c or Ctl_Op = OpUpd_c then
                g_rd <= ram_v(to_integer(Ctl_Addr));
            end if;
            if g_we = '1' and g_wa < Depth_c then
                ram_v(to_integer(g_wa)) := g_wd;
            end if;
        end if;
    end process;

    -- write ports: stage-2 write back, else the external port
    p_comb_wr : process (all)
        variable step_v : signed(AccBits_c downto 0);
        variable diff_v : signed(AccBits_c + 1 downto 0);
    begin
        -- (arithmetic evaluated only for the operation in flight: keeps GHDL fast)
        new_word <= (others => '0');
        if s2_op = OpUpd_c then
            step_v := asr(s2_sum, to_integer(s2_shift));
            diff_v := resize(s2_p, AccBits_c + 2) - resize(step_v, AccBits_c + 2);
            if s2_bias = '1' then
                new_word <= sat(diff_v, ParamBits_c);
            else
                new_word <= resize(sat(diff_v, MasterBits_c), ParamBits_c);
            end if;
        end if;

        p_we <= Ext_WrEna;
        p_wa <= Ext_Addr;
        p_wd <= Ext_WrData;
        g_we <= '0';
        g_wa <= s2_addr;
        g_wd <= (others => '0');
        if s2_op = OpUpd_c then
            p_we <= '1';
            p_wa <= s2_addr;
            p_wd <= new_word;
            g_we <= '1';
            g_wd <= (others => '0');
        elsif s2_op = OpBwd_c then
            g_we <= '1';
            g_wd <= s2_g + resize(s2_gp, AccBits_c);
        elsif s2_op = OpClr_c then
            g_we <= '1';
            g_wd <= (others => '0');
        end if;
    end process;

    p_pipe : process (Clk)
        variable w_v    : signed(7 downto 0);
        variable next_v : std_logic_vector(31 downto 0);
        variable mask_v : unsigned(31 downto 0);
    begin
        if rising_edge(Clk) then
            -- stage 0 -> 1
            s1_op    <= Ctl_Op;
            s1_addr  <= Ctl_Addr;
            s1_bias  <= Ctl_IsBias;
            s1_first <= Ctl_First;
            s1_shift <= Ctl_Shift;
            s1_active <= is_active(Ctl_Layer);

            -- stage 1 -> 2
            w_v := p_rd(MasterExtra_g + 7 downto MasterExtra_g);  -- FLOOR(m, E) (m fits int16)
            s2_op    <= s1_op;
            s2_addr  <= s1_addr;
            s2_bias  <= s1_bias;
            s2_first <= s1_first;
            s2_shift <= s1_shift;
            if s2_bp /= 0 then
                s2_bp <= (others => '0');
            end if;
            if s1_op = OpFwd_c then
                if s1_bias = '1' then
                    s2_prod <= resize(p_rd, AccBits_c);
                else
                    s2_prod <= resize(w_v * Bc_Y, AccBits_c);
                end if;
            end if;
            if s1_op = OpBwd_c then
                s2_g <= g_rd;
                if s1_bias = '0' then
                    s2_bp <= w_v * delta;
                end if;
                s2_gp <= delta * Bc_Y;
            end if;
            if s1_op = OpUpd_c then
                s2_p <= p_rd;
                mask_v := shift_left(to_unsigned(1, 32), to_integer(s1_shift)) - 1;
                next_v := xorshift32(lfsr);
                s2_sum <= resize(g_rd, AccBits_c + 1)
                          + signed(resize(unsigned(next_v) and mask_v, AccBits_c + 1));
                if s1_active = '1' then
                    lfsr <= next_v;
                end if;
            end if;

            -- stage 2: accumulate
            if s2_op = OpFwd_c then
                if s2_first = '1' then
                    acc <= s2_prod;
                else
                    acc <= acc + s2_prod;
                end if;
            end if;
            if s2_op = OpUpd_c then
                New_Out <= new_word;
            end if;

            if Dl_Load = '1' then
                delta <= Dl_Value;
            end if;
            if Seed_Load = '1' then
                lfsr <= Seed;
            end if;
            if Ext_WrEna = '1' and Ext_Addr = Depth_c then  -- generator state from the host
                lfsr <= std_logic_vector(Ext_WrData);
            end if;

            if Rst = '1' then
                s1_op <= OpNone_c;
                s2_op <= OpNone_c;
            end if;
        end if;
    end process;

    Acc_Out   <= acc;
    Delta_Out <= delta;
    Bp_Prod   <= s2_bp;
    Param_Rd  <= p_rd;
    Rng_Out   <= lfsr;

end architecture;
