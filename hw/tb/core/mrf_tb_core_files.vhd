------------------------------------------------------------------------------------------------
-- mrf_tb_core_files: file-driven harness around mrf_train_core for the bit-exact cocotb test.
-- Reads formats, initial parameters and the sample stream from StimFile_g, runs the core at
-- full simulator speed and writes every trace event, the cycle count and the final parameters
-- to TraceFile_g. cocotb only drives Clk/Rst and waits for Finished (no per-cycle Python).
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use std.textio.all;

use work.mrf_train_pkg.all;

entity mrf_tb_core_files is
    generic (
        NIn_g         : natural := 16;
        NH1_g         : natural := 16;
        NH2_g         : natural := 16;
        NOut_g        : natural := 2;
        MasterExtra_g : natural := 8;
        DeltaBits_g   : natural := 16;
        StimFile_g    : string  := "stim.txt";
        TraceFile_g   : string  := "trace.txt"
    );
    port (
        Clk      : in  std_logic;
        Rst      : in  std_logic;
        Finished : out std_logic := '0';
        Lanes    : out unsigned(7 downto 0)  -- lets the test check the generics arrived
    );
end entity;

architecture sim of mrf_tb_core_files is

    constant Lanes_c : natural := max3(NH1_g, NH2_g, NOut_g);
    subtype U6 is unsigned(ShiftBits_c - 1 downto 0);

    signal start, busy, done, in_valid, in_ready  : std_logic := '0';
    signal n_samples                              : unsigned(31 downto 0) := (others => '0');
    signal seed                                   : std_logic_vector(31 downto 0) := (others => '0');
    signal log2b                                  : unsigned(4 downto 0) := (others => '0');
    signal e, q0, q1, bp1, bp2, sw0, sw1, sw2     : U6 := (others => '0');
    signal sb0, sb1, sb2                          : U6 := (others => '0');
    signal in_x          : std_logic_vector(NIn_g * 8 - 1 downto 0) := (others => '0');
    signal in_t          : std_logic_vector(NOut_g * 32 - 1 downto 0) := (others => '0');
    signal wt_we, wt_re, wt_rvalid : std_logic := '0';
    signal wt_lane, wt_addr        : unsigned(7 downto 0) := (others => '0');
    signal wt_wdata, wt_rdata      : std_logic_vector(31 downto 0) := (others => '0');
    signal dbg_valid               : std_logic;
    signal dbg_kind                : unsigned(2 downto 0);
    signal dbg_layer               : unsigned(1 downto 0);
    signal dbg_index               : unsigned(7 downto 0);
    signal dbg_data                : std_logic_vector(Lanes_c * AccBits_c - 1 downto 0);
    signal cycles                  : natural := 0;

    file trace_f : text open write_mode is TraceFile_g;

begin

    Lanes <= to_unsigned(Lanes_c, 8);

    i_dut : entity work.mrf_train_core
        generic map (NIn_g => NIn_g, NH1_g => NH1_g, NH2_g => NH2_g, NOut_g => NOut_g,
                     MasterExtra_g => MasterExtra_g, DeltaBits_g => DeltaBits_g, Debug_g => true)
        port map (
            Clk => Clk, Rst => Rst, Start => start, NSamples => n_samples, Busy => busy,
            Done => done, Cfg_Seed => seed, Cfg_Log2Batch => log2b, Cfg_E => e, Cfg_Q0 => q0,
            Cfg_Q1 => q1, Cfg_Bp1 => bp1, Cfg_Bp2 => bp2, Cfg_Sw0 => sw0, Cfg_Sw1 => sw1,
            Cfg_Sw2 => sw2, Cfg_Sb0 => sb0, Cfg_Sb1 => sb1, Cfg_Sb2 => sb2,
            In_Valid => in_valid, In_Ready => in_ready, In_X => in_x, In_T => in_t,
            Wt_WrEna => wt_we, Wt_RdReq => wt_re, Wt_Lane => wt_lane, Wt_Addr => wt_addr,
            Wt_WrData => wt_wdata, Wt_RdValid => wt_rvalid, Wt_RdData => wt_rdata,
            Dbg_Valid => dbg_valid, Dbg_Kind => dbg_kind, Dbg_Layer => dbg_layer,
            Dbg_Index => dbg_index, Dbg_Data => dbg_data);

    p_count : process (Clk)
    begin
        if rising_edge(Clk) then
            if busy = '1' then
                cycles <= cycles + 1;
            end if;
        end if;
    end process;

    p_trace : process (Clk)
        variable l_v : line;
    begin
        if rising_edge(Clk) and dbg_valid = '1' then
            write(l_v, string'("T "));
            write(l_v, to_integer(dbg_kind));
            write(l_v, ' ');
            write(l_v, to_integer(dbg_layer));
            write(l_v, ' ');
            write(l_v, to_integer(dbg_index));
            write(l_v, ' ');
            write(l_v, to_hstring(dbg_data));
            writeline(trace_f, l_v);
        end if;
    end process;

    p_stim : process
        file stim_f     : text open read_mode is StimFile_g;
        variable l_v    : line;
        variable o_v    : line;
        variable v_v    : integer;
        variable n_v    : integer;
        variable lanes_v, addrs_v : integer_vector(0 to 4095);
        variable n_par_v : integer;

        impure function rd return integer is
            variable x_v : integer;
        begin
            read(l_v, x_v);
            return x_v;
        end function;
        function to_u6(x : integer) return U6 is
        begin
            return to_unsigned(x, ShiftBits_c);
        end function;
    begin
        wait until rising_edge(Clk) and Rst = '0';
        -- header: n_samples seed log2b e q0 q1 bp1 bp2 sw0 sw1 sw2 sb0 sb1 sb2 n_params
        readline(stim_f, l_v);
        n_v       := rd;
        n_samples <= to_unsigned(n_v, 32);
        seed      <= std_logic_vector(to_signed(rd, 32));
        log2b     <= to_unsigned(rd, 5);
        e   <= to_u6(rd); q0  <= to_u6(rd); q1  <= to_u6(rd); bp1 <= to_u6(rd); bp2 <= to_u6(rd);
        sw0 <= to_u6(rd); sw1 <= to_u6(rd); sw2 <= to_u6(rd); sb0 <= to_u6(rd); sb1 <= to_u6(rd); sb2 <= to_u6(rd);
        n_par_v := rd;
        -- parameters: lane addr value
        for k in 0 to n_par_v - 1 loop
            readline(stim_f, l_v);
            lanes_v(k) := rd;
            addrs_v(k) := rd;
            wt_lane  <= to_unsigned(lanes_v(k), 8);
            wt_addr  <= to_unsigned(addrs_v(k), 8);
            wt_wdata <= std_logic_vector(to_signed(rd, 32));
            wt_we    <= '1';
            wait until rising_edge(Clk);
        end loop;
        wt_we <= '0';
        start <= '1';
        wait until rising_edge(Clk);
        start <= '0';
        -- samples: x[0..NIn-1] t[0..NOut-1]
        for k in 0 to n_v - 1 loop
            readline(stim_f, l_v);
            for j in 0 to NIn_g - 1 loop
                in_x(8 * j + 7 downto 8 * j) <= std_logic_vector(to_signed(rd, 8));
            end loop;
            for i in 0 to NOut_g - 1 loop
                in_t(32 * i + 31 downto 32 * i) <= std_logic_vector(to_signed(rd, 32));
            end loop;
            in_valid <= '1';
            wait until rising_edge(Clk) and in_ready = '1';
            in_valid <= '0';
        end loop;
        if busy = '1' then
            wait until rising_edge(Clk) and done = '1';
        end if;
        wait until rising_edge(Clk);
        write(o_v, string'("C "));
        write(o_v, cycles);
        writeline(trace_f, o_v);
        -- read back every parameter that was loaded
        for k in 0 to n_par_v - 1 loop
            wt_lane <= to_unsigned(lanes_v(k), 8);
            wt_addr <= to_unsigned(addrs_v(k), 8);
            wt_re   <= '1';
            wait until rising_edge(Clk);
            wt_re   <= '0';
            wait until rising_edge(Clk) and wt_rvalid = '1';
            write(o_v, string'("R "));
            write(o_v, lanes_v(k));
            write(o_v, ' ');
            write(o_v, addrs_v(k));
            write(o_v, ' ');
            write(o_v, to_integer(signed(wt_rdata)));
            writeline(trace_f, o_v);
        end loop;
        write(o_v, string'("END"));
        writeline(trace_f, o_v);
        file_close(trace_f);
        Finished <= '1';
        wait;
    end process;

end architecture;
