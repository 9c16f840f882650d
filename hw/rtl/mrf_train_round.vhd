------------------------------------------------------------------------------------------------
-- mrf_train_round: pipelined RHE(v, s) followed by SAT_n or CLAMP_U (hw/SPEC.md §0), latency
-- RoundLat_c = 4 cycles, one result per cycle. Each stage is a few LUT levels (300 MHz goal).
-- The shift is decoded into bit masks one cycle ahead: In_Shift must be stable for at least one
-- cycle before In_Valid (it is a per-layer setting that changes between layers).
--   1: shift right by s mod 8; the rounding bits half = v(s-1), tail = OR v(s-2 … 0) as ORs
--      of groups of 3 bits (one LUT6 each: this stage was the 300 MHz worst path)
--   2: shift right by 8 * (s div 8)            -> q = FLOOR(v, s); OR of the groups
--   3: increment (half AND (tail OR q(0))) and the range flags of q (saturation cannot depend on
--      the increment except at the top value, which is kept: q = max -> max)
--   4: select low bits + increment, or the bound
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.mrf_train_pkg.all;

entity mrf_train_round is
    generic (
        InBits_g  : positive := 48;
        OutBits_g : positive := 16;    -- SAT_OutBits_g; with Clamp_g: 9 (CLAMP_U as 9-bit signed)
        Clamp_g   : boolean  := false  -- true: CLAMP_U to [0, 255]
    );
    port (
        Clk       : in  std_logic;
        In_Valid  : in  std_logic;  -- stage enables follow it (idle stages hold: fast in GHDL)
        In_Value  : in  signed(InBits_g - 1 downto 0);
        In_Shift  : in  unsigned(ShiftBits_c - 1 downto 0);
        Out_Value : out signed(OutBits_g - 1 downto 0)
    );
end entity;

architecture rtl of mrf_train_round is

    -- the bound values, as (OutBits_g)-bit results
    function hi_c return signed is
    begin
        if Clamp_g then
            return to_signed(255, OutBits_g);
        end if;
        return '0' & signed'((OutBits_g - 2 downto 0 => '1'));
    end function;
    function lo_c return signed is
    begin
        if Clamp_g then
            return to_signed(0, OutBits_g);
        end if;
        return '1' & signed'((OutBits_g - 2 downto 0 => '0'));
    end function;
    -- bits of q that must equal the sign for q to lie in [lo, hi] (Clamp: q in [0, 255])
    constant KeepBits_c : natural := OutBits_g - 1;  -- 8 for the clamp (9-bit result)

    signal v1, v2, v3 : std_logic := '0';
    -- decoded shift: sh_one(k) = (k = s - 1), sh_low(k) = (k < s - 1), k < InBits_g
    signal sh_q       : unsigned(ShiftBits_c - 1 downto 0) := (others => '1');
    signal sh_one, sh_low : std_logic_vector(InBits_g - 1 downto 0) := (others => '0');
    signal sh_top     : std_logic := '0';
    signal sh_ok      : std_logic := '0';  -- the decode is valid  -- s > InBits_g: half and tail include the sign
    signal s1_v    : signed(InBits_g - 1 downto 0);
    signal s1_hi   : unsigned(2 downto 0);
    constant Groups_c : natural := (InBits_g + 2) / 3;  -- bits per group: 3 (one LUT6)
    signal s1_halfg, s1_tailg : std_logic_vector(Groups_c - 1 downto 0);
    signal s1_sign : std_logic;  -- sign AND sh_top: s > InBits_g, half and tail are the sign
    signal s2_q    : signed(InBits_g - 1 downto 0);
    signal s2_half, s2_tail : std_logic;
    signal s3_low  : signed(OutBits_g - 1 downto 0);
    signal s3_inc, s3_over, s3_under : std_logic;

begin

    p_pipe : process (Clk)
        variable s_v    : natural range 0 to 2**ShiftBits_c - 1;
        variable half_v, tail_v : std_logic;
        variable hg_v, tg_v : std_logic_vector(Groups_c - 1 downto 0);
        variable q_v    : signed(InBits_g - 1 downto 0);
        variable all0_v, all1_v, top_v : boolean;
    begin
        if rising_edge(Clk) then
            v1 <= In_Valid;
            v2 <= v1;
            v3 <= v2;
            -- shift decode (recomputed when the shift changes)
            if In_Shift /= sh_q or sh_ok = '0' then
                sh_ok  <= '1';
                sh_q   <= In_Shift;
                s_v    := to_integer(In_Shift);
                sh_top <= '1' when s_v > InBits_g else '0';
                for k in 0 to InBits_g - 1 loop
                    sh_one(k) <= '1' when k = s_v - 1 else '0';
                    sh_low(k) <= '1' when k < s_v - 1 else '0';
                end loop;
            end if;
            -- stage 1
            if In_Valid = '1' then
                hg_v := (others => '0');
                tg_v := (others => '0');
                for k in 0 to InBits_g - 1 loop
                    hg_v(k / 3) := hg_v(k / 3) or (In_Value(k) and sh_one(k));
                    tg_v(k / 3) := tg_v(k / 3) or (In_Value(k) and sh_low(k));
                end loop;
                s1_v     <= asr(In_Value, to_integer(sh_q(2 downto 0)));
                s1_hi    <= sh_q(ShiftBits_c - 1 downto 3);
                s1_halfg <= hg_v;
                s1_tailg <= tg_v;
                s1_sign  <= In_Value(InBits_g - 1) and sh_top;
            end if;

            -- stage 2 (with sh_top, sh_one is all zero: half is the sign, tail includes it)
            if v1 = '1' then
                half_v := s1_sign;
                tail_v := s1_sign;
                for g in 0 to Groups_c - 1 loop
                    half_v := half_v or s1_halfg(g);
                    tail_v := tail_v or s1_tailg(g);
                end loop;
                s2_q    <= asr(s1_v, 8 * to_integer(s1_hi));
                s2_half <= half_v;
                s2_tail <= tail_v;
            end if;

            -- stage 3: q in range?  Clamp: [0, 254] increments freely; SAT: [lo, hi - 1]
            if v2 = '1' then
                q_v    := s2_q;
                all0_v := true;
                all1_v := true;
                for k in KeepBits_c to InBits_g - 1 loop
                    if q_v(k) = '1' then
                        all0_v := false;
                    else
                        all1_v := false;
                    end if;
                end loop;
                top_v := q_v(KeepBits_c - 1 downto 0) = signed'((KeepBits_c - 1 downto 0 => '1'));
                s3_inc   <= s2_half and (s2_tail or q_v(0));
                if Clamp_g then  -- q in [0, 254] here: zero-extend the low byte
                    s3_low <= '0' & q_v(KeepBits_c - 1 downto 0);
                else
                    s3_low <= q_v(OutBits_g - 1 downto 0);
                end if;
                s3_over  <= '0';
                s3_under <= '0';
                if Clamp_g then
                    -- q < 0 -> 0 (q = -1 plus an increment is 0 too); q >= 255 -> 255
                    if q_v(InBits_g - 1) = '1' then
                        s3_under <= '1';
                    elsif not all0_v or top_v then
                        s3_over <= '1';
                    end if;
                else
                    -- sign-extension bits OutBits_g-1 … top all equal: in range; q = hi stays hi
                    if q_v(InBits_g - 1) = '1' then
                        if not all1_v then
                            s3_under <= '1';
                        end if;
                    elsif not all0_v or top_v then
                        s3_over <= '1';
                    end if;
                end if;
            end if;

            -- stage 4
            if v3 = '1' then
                if s3_over = '1' then
                    Out_Value <= hi_c;
                elsif s3_under = '1' then
                    Out_Value <= lo_c;
                elsif s3_inc = '1' then
                    Out_Value <= s3_low + 1;
                else
                    Out_Value <= s3_low;
                end if;
            end if;
        end if;
    end process;

end architecture;
