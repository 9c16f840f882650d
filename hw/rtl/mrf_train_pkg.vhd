------------------------------------------------------------------------------------------------
-- mrf_train_pkg: shared constants and arithmetic of the fixed-point training engine.
-- The functions implement hw/SPEC.md §0 exactly (RHE, SAT, CLAMP_U, xorshift32).
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

package mrf_train_pkg is

    constant AccBits_c   : natural := 48;  -- forward accumulator and gradient sums (DSP48E2)
    constant ParamBits_c : natural := 32;  -- parameter memory word: master (sign-extended) or bias
    constant ActBits_c   : natural := 9;   -- activations as signed: int8 input, uint8 hidden
    constant ShiftBits_c : natural := 6;
    constant MaxLayers_c : natural := 8;   -- network depth limit of the generics (SPEC §8.2)
    constant WtAddrBits_c : natural := 12; -- parameter address: layer * Cols + column (+ RNG)
    constant RoundLat_c  : natural := 4;   -- latency of mrf_train_round (RHE + SAT/CLAMP_U)
    constant MaxReplicas_c : natural := 64;

    -- network widths n_0 … n_L from the N0_g … N8_g generics (unused entries 0)
    type Widths_t is array (0 to MaxLayers_c) of natural;
    function to_widths(n0, n1, n2, n3, n4, n5, n6, n7, n8 : natural) return Widths_t;
    function lanes_of(layers : natural; w : Widths_t) return natural;  -- max(n_1 … n_L)
    function cols_of(layers : natural; w : Widths_t) return natural;   -- max(n_0 … n_L-1) + 1
    -- shift of layer l (0-based) from a per-layer config vector (ShiftBits_c bits per layer)
    function layer_shift(v : std_logic_vector; l : natural) return unsigned;

    -- lane operations issued by the controller (stage 0)
    constant OpNone_c : std_logic_vector(2 downto 0) := "000";
    constant OpFwd_c  : std_logic_vector(2 downto 0) := "001";
    constant OpBwd_c  : std_logic_vector(2 downto 0) := "010";
    constant OpUpd_c  : std_logic_vector(2 downto 0) := "011";
    constant OpClr_c  : std_logic_vector(2 downto 0) := "100";
    constant OpRd_c   : std_logic_vector(2 downto 0) := "101";

    -- debug trace kinds
    constant DbgY_c   : natural := 1;  -- hidden activations of a layer (one per lane)
    constant DbgAcc_c : natural := 2;  -- output accumulators
    constant DbgDl_c  : natural := 3;  -- output deltas
    constant DbgDp_c  : natural := 4;  -- one back-propagated delta (slot 0)
    constant DbgW_c   : natural := 5;  -- updated parameter word of one column (one per lane)

    function log2ceil(n : natural) return natural;
    function max2(a, b : natural) return natural;
    function max3(a, b, c : natural) return natural;
    -- arithmetic shift right (SPEC FLOOR), same width as v: log2 stages of constant shifts
    -- written as sign-extended slices (GHDL 2.0's Verilog writes shift_right of a signed value
    -- as a logical >>, which would fill negative values with zeros)
    function asr(v : signed; s : natural) return signed;
    -- v / 2**s rounded half to even, same width as v (SPEC RHE)
    function rhe_shift(v : signed; s : natural) return signed;
    -- clamp to the signed range of `bits` bits, result `bits` wide (SPEC SAT_n)
    function sat(v : signed; bits : natural) return signed;
    -- clamp to [0, 255], returned as a 9-bit signed activation (SPEC CLAMP_U)
    function clamp_u8(v : signed) return signed;
    -- Marsaglia xorshift32 (13, 17, 5)
    function xorshift32(x : std_logic_vector(31 downto 0)) return std_logic_vector;

end package;

package body mrf_train_pkg is

    function to_widths(n0, n1, n2, n3, n4, n5, n6, n7, n8 : natural) return Widths_t is
    begin
        return (n0, n1, n2, n3, n4, n5, n6, n7, n8);
    end function;

    function lanes_of(layers : natural; w : Widths_t) return natural is
        variable r_v : natural := 0;
    begin
        for l in 1 to layers loop
            r_v := max2(r_v, w(l));
        end loop;
        return r_v;
    end function;

    function cols_of(layers : natural; w : Widths_t) return natural is
        variable r_v : natural := 0;
    begin
        for l in 0 to layers - 1 loop
            r_v := max2(r_v, w(l));
        end loop;
        return r_v + 1;
    end function;

    function layer_shift(v : std_logic_vector; l : natural) return unsigned is
        variable vv_v : std_logic_vector(v'length - 1 downto 0) := v;
        variable r_v  : unsigned(ShiftBits_c - 1 downto 0) := (others => '0');
    begin
        for k in 0 to MaxLayers_c - 1 loop  -- constant slices (GHDL synthesis)
            if l = k then
                r_v := unsigned(vv_v(ShiftBits_c * k + ShiftBits_c - 1 downto ShiftBits_c * k));
            end if;
        end loop;
        return r_v;
    end function;

    function log2ceil(n : natural) return natural is
        variable r_v : natural := 0;
    begin
        while 2**r_v < n loop
            r_v := r_v + 1;
        end loop;
        return r_v;
    end function;

    function max2(a, b : natural) return natural is
    begin
        if a > b then
            return a;
        end if;
        return b;
    end function;

    function max3(a, b, c : natural) return natural is
    begin
        return max2(max2(a, b), c);
    end function;

    function asr(v : signed; s : natural) return signed is
        constant W_c : natural := v'length;
        variable r_v : signed(W_c - 1 downto 0) := v;
        variable s_v : unsigned(ShiftBits_c - 1 downto 0) := to_unsigned(s, ShiftBits_c);
    begin
        for b in 0 to ShiftBits_c - 1 loop
            if s_v(b) = '1' then
                if 2**b < W_c then
                    r_v := resize(r_v(W_c - 1 downto 2**b), W_c);
                else
                    r_v := (others => r_v(W_c - 1));
                end if;
            end if;
        end loop;
        return r_v;
    end function;

    function rhe_shift(v : signed; s : natural) return signed is
        constant W_c    : natural := v'length;
        variable vv_v   : signed(W_c - 1 downto 0) := v;
        variable q_v    : signed(W_c - 1 downto 0);
        variable half_v : std_logic := '0';
        variable tail_v : std_logic := '0';
    begin
        q_v := asr(vv_v, s);
        for k in 0 to W_c - 1 loop
            if k = s - 1 then
                half_v := vv_v(k);
            elsif k < s - 1 then
                tail_v := tail_v or vv_v(k);
            end if;
        end loop;
        if half_v = '1' and (tail_v = '1' or q_v(0) = '1') then
            q_v := q_v + 1;
        end if;
        return q_v;
    end function;

    function sat(v : signed; bits : natural) return signed is
        variable vv_v  : signed(v'length - 1 downto 0) := v;
        variable res_v : signed(bits - 1 downto 0);
        variable ok_v  : boolean := true;
    begin
        if v'length <= bits then
            return resize(vv_v, bits);
        end if;
        for k in bits - 1 to v'length - 2 loop
            if vv_v(k) /= vv_v(v'length - 1) then
                ok_v := false;
            end if;
        end loop;
        if ok_v then
            res_v := vv_v(bits - 1 downto 0);
        elsif vv_v(v'length - 1) = '1' then
            res_v := (others => '0');
            res_v(bits - 1) := '1';
        else
            res_v := (others => '1');
            res_v(bits - 1) := '0';
        end if;
        return res_v;
    end function;

    function clamp_u8(v : signed) return signed is
    begin
        if v < 0 then
            return to_signed(0, ActBits_c);
        elsif v > 255 then
            return to_signed(255, ActBits_c);
        end if;
        return resize(v, ActBits_c);
    end function;

    function xorshift32(x : std_logic_vector(31 downto 0)) return std_logic_vector is
        variable v_v : unsigned(31 downto 0) := unsigned(x);
    begin
        v_v := v_v xor shift_left(v_v, 13);
        v_v := v_v xor shift_right(v_v, 17);
        v_v := v_v xor shift_left(v_v, 5);
        return std_logic_vector(v_v);
    end function;

end package body;
