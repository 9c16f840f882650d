------------------------------------------------------------------------------------------------
-- mrf_train_kernel: Vitis RTL kernel (ap_ctrl_hs) around mrf_train_core, interface v2
-- (hw/SPEC.md §8). ap_start -> read the 64-word header of weights_in and check it (status 1:
-- magic, 2: shape/format other than this build's generics, 3: n_samples not whole batches) ->
-- read the N generator states (loaded when LOAD_RNG, else the core seeds them) and the body ->
-- train on the 64-bit n_samples samples streamed from `samples` -> write status, samples
-- trained, generator states and body to weights_out -> ap_done. With a status other than 0 only
-- the 4 status words are written. One AXI4-Lite slave s_axi_control, one AXI4 master m_axi_gmem
-- (512-bit data as Vitis kernels use, 64-bit address): the samples arrive as whole 64-byte
-- beats (several bursts in flight) into a buffer of a few beats from which one sample a cycle
-- can be taken (16 replicas at 10 cycles/sample take 0.6 words a cycle); the header, generator
-- states and body are read, and weights_out written, one 32-bit word per (narrow) beat.
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.mrf_train_pkg.all;

entity mrf_train_kernel is
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
        Replicas_g    : positive := 16  -- engine replicas (a power of two): samples in flight
    );
    port (
        ap_clk                  : in  std_logic;
        ap_rst_n                : in  std_logic;
        interrupt               : out std_logic;
        s_axi_control_awvalid   : in  std_logic;
        s_axi_control_awready   : out std_logic;
        s_axi_control_awaddr    : in  std_logic_vector(6 downto 0);
        s_axi_control_wvalid    : in  std_logic;
        s_axi_control_wready    : out std_logic;
        s_axi_control_wdata     : in  std_logic_vector(31 downto 0);
        s_axi_control_wstrb     : in  std_logic_vector(3 downto 0);
        s_axi_control_bvalid    : out std_logic;
        s_axi_control_bready    : in  std_logic;
        s_axi_control_bresp     : out std_logic_vector(1 downto 0);
        s_axi_control_arvalid   : in  std_logic;
        s_axi_control_arready   : out std_logic;
        s_axi_control_araddr    : in  std_logic_vector(6 downto 0);
        s_axi_control_rvalid    : out std_logic;
        s_axi_control_rready    : in  std_logic;
        s_axi_control_rdata     : out std_logic_vector(31 downto 0);
        s_axi_control_rresp     : out std_logic_vector(1 downto 0);
        m_axi_gmem_awid         : out std_logic_vector(0 downto 0);
        m_axi_gmem_arid         : out std_logic_vector(0 downto 0);
        m_axi_gmem_bid          : in  std_logic_vector(0 downto 0);
        m_axi_gmem_rid          : in  std_logic_vector(0 downto 0);
        m_axi_gmem_awvalid      : out std_logic;
        m_axi_gmem_awready      : in  std_logic;
        m_axi_gmem_awaddr       : out std_logic_vector(63 downto 0);
        m_axi_gmem_awlen        : out std_logic_vector(7 downto 0);
        m_axi_gmem_awsize       : out std_logic_vector(2 downto 0);
        m_axi_gmem_awburst      : out std_logic_vector(1 downto 0);
        m_axi_gmem_wvalid       : out std_logic;
        m_axi_gmem_wready       : in  std_logic;
        m_axi_gmem_wdata        : out std_logic_vector(511 downto 0);
        m_axi_gmem_wstrb        : out std_logic_vector(63 downto 0);
        m_axi_gmem_wlast        : out std_logic;
        m_axi_gmem_bvalid       : in  std_logic;
        m_axi_gmem_bready       : out std_logic;
        m_axi_gmem_bresp        : in  std_logic_vector(1 downto 0);
        m_axi_gmem_arvalid      : out std_logic;
        m_axi_gmem_arready      : in  std_logic;
        m_axi_gmem_araddr       : out std_logic_vector(63 downto 0);
        m_axi_gmem_arlen        : out std_logic_vector(7 downto 0);
        m_axi_gmem_arsize       : out std_logic_vector(2 downto 0);
        m_axi_gmem_arburst      : out std_logic_vector(1 downto 0);
        m_axi_gmem_rvalid       : in  std_logic;
        m_axi_gmem_rready       : out std_logic;
        m_axi_gmem_rdata        : in  std_logic_vector(511 downto 0);
        m_axi_gmem_rlast        : in  std_logic;
        m_axi_gmem_rresp        : in  std_logic_vector(1 downto 0)
    );
end entity;

architecture rtl of mrf_train_kernel is

    constant W_c       : Widths_t := to_widths(N0_g, N1_g, N2_g, N3_g, N4_g, N5_g, N6_g, N7_g,
                                               N8_g);
    constant Last_c    : natural := Layers_g - 1;
    constant Lanes_c   : natural := lanes_of(Layers_g, W_c);
    constant Cols_c    : natural := cols_of(Layers_g, W_c);
    constant RngAddr_c : natural := Layers_g * Cols_c;
    constant NOutL_c   : natural := W_c(Layers_g);
    constant WX_c      : natural := (N0_g + 3) / 4;
    constant WSample_c : natural := WX_c + NOutL_c;
    constant Header_c  : natural := 64;
    constant OutHdr_c  : natural := 4;
    constant Magic_c   : std_logic_vector(31 downto 0) := x"3246524D";  -- "MRF2"
    constant BiasBits_c : natural := 32;
    constant AxiBits_c : natural := 512;
    constant BeatWords_c : natural := AxiBits_c / 32;
    -- sample buffer: whole beats, room for one sample beyond a beat (a power of two of beats)
    constant BufBeats_c : natural := 2 ** log2ceil((WSample_c + BeatWords_c - 1) / BeatWords_c + 1);
    constant BufWords_c : natural := BufBeats_c * BeatWords_c;
    constant BufBits_c  : natural := log2ceil(BufWords_c);

    function body_words return natural is
        variable r_v : natural := 0;
    begin
        for l in 1 to Layers_g loop
            r_v := r_v + W_c(l) * (W_c(l - 1) + 1);
        end loop;
        return r_v;
    end function;
    constant Body_c    : natural := body_words;

    type NatArr_t is array (0 to MaxLayers_c - 1) of natural;
    function widths_at(offset : natural) return NatArr_t is
        variable r_v : NatArr_t := (others => 0);
    begin
        for l in 0 to Last_c loop
            r_v(l) := W_c(l + offset);
        end loop;
        return r_v;
    end function;
    constant NIn_c  : NatArr_t := widths_at(0);
    constant NOut_c : NatArr_t := widths_at(1);

    type State_t is (Idle_s, Header_s, Check_s, Load_s, Train_s, Out_s, OutWait_s, Flush_s,
                     Done_s);
    signal state : State_t := Idle_s;

    signal rst                        : std_logic;
    signal ap_start, ap_done, ap_idle : std_logic;
    signal samples_ptr, win_ptr, wout_ptr : std_logic_vector(63 downto 0);
    signal n_samples_reg              : std_logic_vector(63 downto 0);
    signal n_samples                  : unsigned(63 downto 0);  -- latched at ap_start

    signal rd_start, rd_valid, rd_ready, rd_busy, rd_wide : std_logic := '0';
    signal rd_addr                    : std_logic_vector(63 downto 0);
    signal rd_words                   : unsigned(63 downto 0);
    signal rd_word                    : std_logic_vector(31 downto 0);
    signal rd_data                    : std_logic_vector(AxiBits_c - 1 downto 0);
    signal wr_start, wr_valid, wr_ready, wr_busy : std_logic := '0';
    signal wr_words                   : unsigned(31 downto 0);
    signal wr_data                    : std_logic_vector(31 downto 0);

    type Hdr_t is array (0 to Header_c - 1) of std_logic_vector(31 downto 0);
    signal hdr                        : Hdr_t := (others => (others => '0'));
    signal status                     : unsigned(1 downto 0) := "00";
    signal word_cnt                   : natural range 0 to 2**20 - 1;
    signal rng_phase                  : std_logic := '0';  -- words of the generator states
    signal rng_lane                   : natural range 0 to 2**20 - 1;
    signal p_layer                    : natural range 0 to Last_c;
    signal p_row, p_col               : natural range 0 to 255;

    signal core_start, core_busy, core_done : std_logic := '0';
    signal in_valid, in_ready         : std_logic := '0';
    signal in_x                       : std_logic_vector(N0_g * 8 - 1 downto 0);
    signal in_t                       : std_logic_vector(NOutL_c * 32 - 1 downto 0);
    signal sample_buf                 : std_logic_vector(WSample_c * 32 - 1 downto 0);
    type SampleBuf_t is array (0 to BufWords_c - 1) of std_logic_vector(31 downto 0);
    signal sbuf                       : SampleBuf_t;
    signal s_wbeat                    : natural range 0 to BufBeats_c - 1;  -- next beat's slot
    signal s_rp                       : unsigned(BufBits_c - 1 downto 0);   -- next sample's word
    signal s_avail                    : natural range 0 to BufWords_c;      -- words not taken
    signal s_beat, s_pop              : std_logic;
    signal wt_we, wt_re, wt_rvalid    : std_logic := '0';
    signal wt_lane                    : unsigned(7 downto 0);
    signal wt_addr                    : unsigned(WtAddrBits_c - 1 downto 0);
    signal wt_wdata, wt_rdata         : std_logic_vector(31 downto 0);
    signal cfg_q, cfg_bp, cfg_sw, cfg_sb : std_logic_vector(MaxLayers_c * ShiftBits_c - 1 downto 0);
    signal seed_rng                   : std_logic;

    function word_is(w : std_logic_vector(31 downto 0); v : natural) return boolean is
    begin
        return unsigned(w) = to_unsigned(v, 32);
    end function;

begin

    rst <= not ap_rst_n;

    i_ctrl : entity work.mrf_axi_lite_ctrl
        port map (
            Clk => ap_clk, Rst => rst,
            AwValid => s_axi_control_awvalid, AwReady => s_axi_control_awready,
            AwAddr => s_axi_control_awaddr, WValid => s_axi_control_wvalid,
            WReady => s_axi_control_wready, WData => s_axi_control_wdata,
            WStrb => s_axi_control_wstrb, BValid => s_axi_control_bvalid,
            BReady => s_axi_control_bready, BResp => s_axi_control_bresp,
            ArValid => s_axi_control_arvalid, ArReady => s_axi_control_arready,
            ArAddr => s_axi_control_araddr, RValid => s_axi_control_rvalid,
            RReady => s_axi_control_rready, RData => s_axi_control_rdata,
            RResp => s_axi_control_rresp,
            Ap_Start => ap_start, Ap_Done => ap_done, Ap_Idle => ap_idle, Interrupt => interrupt,
            Samples => samples_ptr, WeightsIn => win_ptr, WeightsOut => wout_ptr,
            NSamples => n_samples_reg);

    i_axi : entity work.mrf_axi_master
        generic map (DataBits_g => AxiBits_c)
        port map (
            Clk => ap_clk, Rst => rst,
            Rd_Start => rd_start, Rd_Wide => rd_wide, Rd_Addr => rd_addr, Rd_Words => rd_words,
            Rd_Valid => rd_valid, Rd_Ready => rd_ready, Rd_Word => rd_word, Rd_Data => rd_data,
            Rd_Busy => rd_busy,
            Wr_Start => wr_start, Wr_Addr => wout_ptr, Wr_Words => wr_words,
            Wr_Valid => wr_valid, Wr_Ready => wr_ready, Wr_Data => wr_data, Wr_Busy => wr_busy,
            ArValid => m_axi_gmem_arvalid, ArReady => m_axi_gmem_arready,
            ArAddr => m_axi_gmem_araddr, ArLen => m_axi_gmem_arlen, ArSize => m_axi_gmem_arsize,
            RValid => m_axi_gmem_rvalid, RReady => m_axi_gmem_rready, RData => m_axi_gmem_rdata,
            RLast => m_axi_gmem_rlast,
            AwValid => m_axi_gmem_awvalid, AwReady => m_axi_gmem_awready,
            AwAddr => m_axi_gmem_awaddr, AwLen => m_axi_gmem_awlen,
            WValid => m_axi_gmem_wvalid, WReady => m_axi_gmem_wready, WData => m_axi_gmem_wdata,
            WStrb => m_axi_gmem_wstrb, WLast => m_axi_gmem_wlast,
            BValid => m_axi_gmem_bvalid, BReady => m_axi_gmem_bready);
    m_axi_gmem_awid    <= "0";
    m_axi_gmem_arid    <= "0";
    m_axi_gmem_awsize  <= "010";  -- 4 bytes (narrow writes, WSTRB selects the word)
    m_axi_gmem_arburst <= "01";   -- INCR
    m_axi_gmem_awburst <= "01";

    -- header words 32 + 4l … 32 + 4l + 3: q, bp, s_w, s_b of layer l (0-based)
    p_cfg : process (all)
    begin
        cfg_q  <= (others => '0');
        cfg_bp <= (others => '0');
        cfg_sw <= (others => '0');
        cfg_sb <= (others => '0');
        for l in 0 to Last_c loop
            cfg_q(6 * l + 5 downto 6 * l)  <= hdr(32 + 4 * l)(5 downto 0);
            cfg_bp(6 * l + 5 downto 6 * l) <= hdr(33 + 4 * l)(5 downto 0);
            cfg_sw(6 * l + 5 downto 6 * l) <= hdr(34 + 4 * l)(5 downto 0);
            cfg_sb(6 * l + 5 downto 6 * l) <= hdr(35 + 4 * l)(5 downto 0);
        end loop;
    end process;
    seed_rng <= not hdr(1)(0);  -- LOAD_RNG = 0: the core seeds the generators from the seed

    i_core : entity work.mrf_train_core
        generic map (Layers_g => Layers_g, N0_g => N0_g, N1_g => N1_g, N2_g => N2_g,
                     N3_g => N3_g, N4_g => N4_g, N5_g => N5_g, N6_g => N6_g, N7_g => N7_g,
                     N8_g => N8_g, MasterExtra_g => MasterExtra_g, DeltaBits_g => DeltaBits_g,
                     Replicas_g => Replicas_g)
        port map (
            Clk => ap_clk, Rst => rst, Start => core_start, NSamples => n_samples,
            Busy => core_busy, Done => core_done,
            Cfg_SeedRng => seed_rng, Cfg_Seed => hdr(3),
            Cfg_Log2Batch => unsigned(hdr(4)(4 downto 0)),
            Cfg_E => unsigned(hdr(5)(ShiftBits_c - 1 downto 0)),
            Cfg_Q => cfg_q, Cfg_Bp => cfg_bp, Cfg_Sw => cfg_sw, Cfg_Sb => cfg_sb,
            In_Valid => in_valid, In_Ready => in_ready, In_X => in_x, In_T => in_t,
            Wt_WrEna => wt_we, Wt_RdReq => wt_re, Wt_Lane => wt_lane, Wt_Addr => wt_addr,
            Wt_WrData => wt_wdata, Wt_RdValid => wt_rvalid, Wt_RdData => wt_rdata,
            Dbg_Valid => open, Dbg_Kind => open, Dbg_Layer => open, Dbg_Index => open,
            Dbg_Data => open, Dbg_UValid => open, Dbg_ULayer => open, Dbg_UIndex => open,
            Dbg_UData => open);

    ap_idle <= '1' when state = Idle_s else '0';

    -- sample words: inputs packed 4 per word (byte k of word w = x[4w + k]), then targets
    g_x : for j in 0 to N0_g - 1 generate
        in_x(8 * j + 7 downto 8 * j) <= sample_buf(32 * (j / 4) + 8 * (j mod 4) + 7 downto
                                                   32 * (j / 4) + 8 * (j mod 4));
    end generate;
    in_t <= sample_buf(WSample_c * 32 - 1 downto WX_c * 32);

    rd_ready <= '1' when state = Header_s or state = Load_s
                else '1' when state = Train_s and s_avail <= BufWords_c - BeatWords_c else '0';
    s_beat   <= '1' when state = Train_s and rd_valid = '1' and rd_ready = '1' else '0';
    s_pop    <= '1' when state = Train_s and (in_valid = '0' or in_ready = '1')
                and s_avail >= WSample_c else '0';
    wt_wdata <= rd_word;
    -- parameter port: generator state k (lane k, address L * cols), else the body's word
    rng_lane <= word_cnt when state = Load_s else word_cnt - OutHdr_c when word_cnt >= OutHdr_c
                else 0;
    wt_lane  <= to_unsigned(rng_lane, 8) when rng_phase = '1' else to_unsigned(p_row, 8);
    wt_addr  <= to_unsigned(RngAddr_c, WtAddrBits_c) when rng_phase = '1'
                else to_unsigned(p_layer * Cols_c + p_col, WtAddrBits_c);
    wt_we    <= rd_valid and (hdr(1)(0) or not rng_phase) when state = Load_s else '0';

    p_fsm : process (ap_clk)
        variable bad_v  : boolean;
        variable mask_v : unsigned(63 downto 0);

        procedure next_param is
        begin
            if p_col = NIn_c(p_layer) then
                p_col <= 0;
                if p_row = NOut_c(p_layer) - 1 then
                    p_row <= 0;
                    if p_layer < Last_c then
                        p_layer <= p_layer + 1;
                    end if;
                else
                    p_row <= p_row + 1;
                end if;
            else
                p_col <= p_col + 1;
            end if;
        end procedure;
    begin
        if rising_edge(ap_clk) then
            rd_start   <= '0';
            wr_start   <= '0';
            core_start <= '0';
            ap_done    <= '0';
            wt_re      <= '0';
            if state = Idle_s then
                if ap_start = '1' then
                    n_samples <= unsigned(n_samples_reg);
                    rd_start  <= '1';
                    rd_wide   <= '0';
                    rd_addr   <= win_ptr;
                    rd_words  <= to_unsigned(Header_c, 64);
                    word_cnt  <= 0;
                    state     <= Header_s;
                end if;

            elsif state = Header_s then
                if rd_valid = '1' then
                    for k in 0 to Header_c - 1 loop  -- constant indices (GHDL synthesis)
                        if word_cnt = k then
                            hdr(k) <= rd_word;
                        end if;
                    end loop;
                    if word_cnt = Header_c - 1 then
                        state <= Check_s;
                    end if;
                    word_cnt <= word_cnt + 1;
                end if;

            elsif state = Check_s then  -- SPEC §8.4 status; rd is idle (the header read ended)
                bad_v := not word_is(hdr(2), Layers_g) or not word_is(hdr(6), Lanes_c)
                         or not word_is(hdr(7), MasterExtra_g)
                         or not word_is(hdr(8), DeltaBits_g) or not word_is(hdr(9), BiasBits_c)
                         or unsigned(hdr(4)) > 16;
                for l in 0 to Layers_g loop
                    if not word_is(hdr(16 + l), W_c(l)) then
                        bad_v := true;
                    end if;
                end loop;
                mask_v := shift_left(to_unsigned(1, 64), to_integer(unsigned(hdr(4)(4 downto 0))))
                          - 1;
                word_cnt  <= 0;
                p_layer   <= 0;
                p_row     <= 0;
                p_col     <= 0;
                if hdr(0) /= Magic_c then
                    status <= "01";
                elsif bad_v then
                    status <= "10";
                elsif (n_samples and mask_v) /= 0 then
                    status <= "11";
                else
                    status <= "00";
                end if;
                if hdr(0) /= Magic_c or bad_v or (n_samples and mask_v) /= 0 then
                    wr_start <= '1';
                    wr_words <= to_unsigned(OutHdr_c, 32);
                    state    <= Out_s;
                else  -- generator states and body follow the header
                    rd_start  <= '1';
                    rd_addr   <= std_logic_vector(unsigned(win_ptr) + 4 * Header_c);
                    rd_words  <= to_unsigned(Lanes_c + Body_c, 64);
                    rng_phase <= '1';
                    state     <= Load_s;
                end if;

            elsif state = Load_s then
                if rd_valid = '1' then
                    if rng_phase = '1' then
                        if word_cnt = Lanes_c - 1 then
                            rng_phase <= '0';
                            word_cnt  <= 0;
                        else
                            word_cnt <= word_cnt + 1;
                        end if;
                    else
                        next_param;
                        if word_cnt = Body_c - 1 then
                            state      <= Train_s;
                            core_start <= '1';
                            rd_start   <= '1';
                            rd_wide    <= '1';
                            rd_addr    <= samples_ptr;
                            -- whole beats (the host pads the buffer to a multiple of 64 bytes)
                            rd_words   <= shift_right(resize(n_samples
                                          * to_unsigned(WSample_c, 8), 64) + BeatWords_c - 1,
                                          log2ceil(BeatWords_c));
                            s_wbeat    <= 0;
                            s_rp       <= (others => '0');
                            s_avail    <= 0;
                        end if;
                        word_cnt <= word_cnt + 1;
                    end if;
                end if;

            elsif state = Train_s then
                -- a beat into its slot of the buffer; a sample out of it (up to one a cycle)
                if s_beat = '1' then
                    for b in 0 to BufBeats_c - 1 loop  -- constant indices (GHDL synthesis)
                        if s_wbeat = b then
                            for i in 0 to BeatWords_c - 1 loop
                                sbuf(b * BeatWords_c + i) <= rd_data(32 * i + 31 downto 32 * i);
                            end loop;
                        end if;
                    end loop;
                    s_wbeat <= (s_wbeat + 1) mod BufBeats_c;
                end if;
                if s_pop = '1' then
                    for k in 0 to WSample_c - 1 loop
                        sample_buf(32 * k + 31 downto 32 * k)
                            <= sbuf(to_integer(s_rp + to_unsigned(k, BufBits_c)));
                    end loop;
                    s_rp     <= s_rp + to_unsigned(WSample_c mod BufWords_c, BufBits_c);
                    in_valid <= '1';
                elsif in_valid = '1' and in_ready = '1' then
                    in_valid <= '0';
                end if;
                if s_beat = '1' and s_pop = '0' then
                    s_avail <= s_avail + BeatWords_c;
                elsif s_beat = '1' and s_pop = '1' then
                    s_avail <= s_avail + BeatWords_c - WSample_c;
                elsif s_pop = '1' then
                    s_avail <= s_avail - WSample_c;
                end if;
                if core_done = '1' then
                    wr_start  <= '1';
                    wr_words  <= to_unsigned(OutHdr_c + Lanes_c + Body_c, 32);
                    p_layer   <= 0;
                    p_row     <= 0;
                    p_col     <= 0;
                    word_cnt  <= 0;
                    state     <= Out_s;
                end if;

            elsif state = Out_s then  -- word word_cnt of weights_out
                if wr_valid = '0' then
                    if word_cnt < OutHdr_c then
                        wr_valid <= '1';
                        wr_data  <= (others => '0');
                        if word_cnt = 0 then
                            wr_data(1 downto 0) <= std_logic_vector(status);
                        elsif word_cnt = 2 and status = 0 then
                            wr_data <= std_logic_vector(n_samples(31 downto 0));
                        elsif word_cnt = 3 and status = 0 then
                            wr_data <= std_logic_vector(n_samples(63 downto 32));
                        end if;
                        state <= Flush_s;
                    else  -- generator states, then the body, through the core's read port
                        rng_phase <= '1' when word_cnt < OutHdr_c + Lanes_c else '0';
                        wt_re     <= '1';
                        state     <= OutWait_s;
                    end if;
                end if;

            elsif state = OutWait_s then
                if wt_rvalid = '1' then
                    wr_data  <= wt_rdata;
                    wr_valid <= '1';
                    state    <= Flush_s;
                end if;

            elsif state = Flush_s then
                if wr_ready = '1' then
                    wr_valid <= '0';
                    if word_cnt >= OutHdr_c + Lanes_c then
                        next_param;
                    end if;
                    if (status /= 0 and word_cnt = OutHdr_c - 1)
                            or word_cnt = OutHdr_c + Lanes_c + Body_c - 1 then
                        state <= Done_s;
                    else
                        word_cnt <= word_cnt + 1;
                        state    <= Out_s;
                    end if;
                end if;

            elsif state = Done_s then
                rng_phase <= '0';
                if wr_busy = '0' then
                    ap_done <= '1';
                    state   <= Idle_s;
                end if;
            end if;

            if rst = '1' then
                state     <= Idle_s;
                in_valid  <= '0';
                wr_valid  <= '0';
                rng_phase <= '0';
            end if;
        end if;
    end process;

end architecture;
