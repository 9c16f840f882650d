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
        Replicas_g    : positive := 2;
        TraceKinds_g  : natural := 63;  -- bit k: write trace events of kind k (Dbg*_c)
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

    constant W_c     : Widths_t := to_widths(N0_g, N1_g, N2_g, N3_g, N4_g, N5_g, N6_g, N7_g, N8_g);
    constant Lanes_c : natural := lanes_of(Layers_g, W_c);
    constant NOut_c  : natural := W_c(Layers_g);
    subtype U6 is unsigned(ShiftBits_c - 1 downto 0);
    subtype CfgVec_t is std_logic_vector(MaxLayers_c * ShiftBits_c - 1 downto 0);

    signal start, busy, done, in_valid, in_ready  : std_logic := '0';
    signal n_samples                              : unsigned(63 downto 0) := (others => '0');
    signal seed_rng                               : std_logic := '1';
    signal cfg_q, cfg_bp, cfg_sw, cfg_sb          : CfgVec_t := (others => '0');
    signal seed                                   : std_logic_vector(31 downto 0) := (others => '0');
    signal log2b                                  : unsigned(4 downto 0) := (others => '0');
    signal e                                      : U6 := (others => '0');
    signal in_x          : std_logic_vector(N0_g * 8 - 1 downto 0) := (others => '0');
    signal in_t          : std_logic_vector(NOut_c * 32 - 1 downto 0) := (others => '0');
    signal wt_we, wt_re, wt_rvalid : std_logic := '0';
    signal wt_lane                 : unsigned(7 downto 0) := (others => '0');
    signal wt_addr                 : unsigned(WtAddrBits_c - 1 downto 0) := (others => '0');
    signal wt_wdata, wt_rdata      : std_logic_vector(31 downto 0) := (others => '0');
    signal dbg_valid               : std_logic;
    signal dbg_kind                : unsigned(2 downto 0);
    signal dbg_layer               : unsigned(2 downto 0);
    signal dbg_index               : unsigned(7 downto 0);
    signal dbg_data                : std_logic_vector(Lanes_c * AccBits_c - 1 downto 0);
    signal dbg_uvalid              : std_logic;
    signal dbg_ulayer              : unsigned(2 downto 0);
    signal dbg_uindex              : unsigned(7 downto 0);
    signal dbg_udata               : std_logic_vector(Lanes_c * AccBits_c - 1 downto 0);
    signal cycles                  : natural := 0;

    file trace_f : text open write_mode is TraceFile_g;

begin

    Lanes <= to_unsigned(Lanes_c, 8);

    i_dut : entity work.mrf_train_core
        generic map (Layers_g => Layers_g, N0_g => N0_g, N1_g => N1_g, N2_g => N2_g,
                     N3_g => N3_g, N4_g => N4_g, N5_g => N5_g, N6_g => N6_g, N7_g => N7_g,
                     N8_g => N8_g, MasterExtra_g => MasterExtra_g, DeltaBits_g => DeltaBits_g,
                     Replicas_g => Replicas_g, Debug_g => true)
        port map (
            Clk => Clk, Rst => Rst, Start => start, NSamples => n_samples, Busy => busy,
            Done => done, Cfg_SeedRng => seed_rng, Cfg_Seed => seed, Cfg_Log2Batch => log2b,
            Cfg_E => e, Cfg_Q => cfg_q, Cfg_Bp => cfg_bp, Cfg_Sw => cfg_sw, Cfg_Sb => cfg_sb,
            In_Valid => in_valid, In_Ready => in_ready, In_X => in_x, In_T => in_t,
            Wt_WrEna => wt_we, Wt_RdReq => wt_re, Wt_Lane => wt_lane, Wt_Addr => wt_addr,
            Wt_WrData => wt_wdata, Wt_RdValid => wt_rvalid, Wt_RdData => wt_rdata,
            Dbg_Valid => dbg_valid, Dbg_Kind => dbg_kind, Dbg_Layer => dbg_layer,
            Dbg_Index => dbg_index, Dbg_Data => dbg_data, Dbg_UValid => dbg_uvalid,
            Dbg_ULayer => dbg_ulayer, Dbg_UIndex => dbg_uindex, Dbg_UData => dbg_udata);

    p_count : process (Clk)
    begin
        if rising_edge(Clk) then
            if busy = '1' then
                cycles <= cycles + 1;
            end if;
        end if;
    end process;

    -- replica 0's trace, then the updated words (kind DbgW_c) of the same cycle
    p_trace : process (Clk)
        -- one trace line: "T kind layer index data"
        procedure trace(kind : natural; layer, index : unsigned; data : std_logic_vector) is
            variable l_v : line;
        begin
            write(l_v, string'("T "));
            write(l_v, kind);
            write(l_v, ' ');
            write(l_v, to_integer(layer));
            write(l_v, ' ');
            write(l_v, to_integer(index));
            write(l_v, ' ');
            write(l_v, to_hstring(data));
            writeline(trace_f, l_v);
        end procedure;
    begin
        if rising_edge(Clk) then
            if dbg_valid = '1' and (TraceKinds_g / 2**to_integer(dbg_kind)) mod 2 = 1 then
                trace(to_integer(dbg_kind), dbg_layer, dbg_index, dbg_data);
            end if;
            if dbg_uvalid = '1' and (TraceKinds_g / 2**DbgW_c) mod 2 = 1 then
                trace(DbgW_c, dbg_ulayer, dbg_uindex, dbg_udata);
            end if;
        end if;
    end process;

    p_stim : process
        file stim_f     : text open read_mode is StimFile_g;
        variable l_v    : line;
        variable o_v    : line;
        variable v_v    : integer;
        variable n_v    : integer;
        variable lanes_v, addrs_v : integer_vector(0 to 65535);
        variable cq_v, cbp_v, csw_v, csb_v : CfgVec_t := (others => '0');
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
        -- header: n_samples seed log2b e seed_rng, then q bp s_w s_b of each layer, n_params
        readline(stim_f, l_v);
        n_v       := rd;
        n_samples <= to_unsigned(n_v, 64);
        seed      <= std_logic_vector(to_signed(rd, 32));
        log2b     <= to_unsigned(rd, 5);
        e         <= to_u6(rd);
        seed_rng  <= '1' when rd = 1 else '0';
        for l in 0 to Layers_g - 1 loop
            cq_v(6 * l + 5 downto 6 * l)  := std_logic_vector(to_u6(rd));
            cbp_v(6 * l + 5 downto 6 * l) := std_logic_vector(to_u6(rd));
            csw_v(6 * l + 5 downto 6 * l) := std_logic_vector(to_u6(rd));
            csb_v(6 * l + 5 downto 6 * l) := std_logic_vector(to_u6(rd));
        end loop;
        cfg_q <= cq_v; cfg_bp <= cbp_v; cfg_sw <= csw_v; cfg_sb <= csb_v;
        n_par_v := rd;
        -- parameters: lane addr value
        for k in 0 to n_par_v - 1 loop
            readline(stim_f, l_v);
            lanes_v(k) := rd;
            addrs_v(k) := rd;
            wt_lane  <= to_unsigned(lanes_v(k), 8);
            wt_addr  <= to_unsigned(addrs_v(k), WtAddrBits_c);
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
            for j in 0 to N0_g - 1 loop
                in_x(8 * j + 7 downto 8 * j) <= std_logic_vector(to_signed(rd, 8));
            end loop;
            for i in 0 to NOut_c - 1 loop
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
            wt_addr <= to_unsigned(addrs_v(k), WtAddrBits_c);
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
