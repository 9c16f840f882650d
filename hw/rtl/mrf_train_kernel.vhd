------------------------------------------------------------------------------------------------
-- mrf_train_kernel: Vitis RTL kernel (ap_ctrl_hs) around mrf_train_core (hw/SPEC.md §8).
-- ap_start -> read the 16-word header and the parameter body of weights_in -> train on
-- n_samples samples streamed from `samples` -> write the parameter body to weights_out -> ap_done.
-- One AXI4-Lite slave s_axi_control, one AXI4 master m_axi_gmem (32-bit data, 64-bit address).
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.mrf_train_pkg.all;

entity mrf_train_kernel is
    generic (
        NIn_g         : natural := 16;
        NH1_g         : natural := 16;
        NH2_g         : natural := 16;
        NOut_g        : natural := 2;
        MasterExtra_g : natural := 8;
        DeltaBits_g   : natural := 16
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
        m_axi_gmem_wdata        : out std_logic_vector(31 downto 0);
        m_axi_gmem_wstrb        : out std_logic_vector(3 downto 0);
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
        m_axi_gmem_rdata        : in  std_logic_vector(31 downto 0);
        m_axi_gmem_rlast        : in  std_logic;
        m_axi_gmem_rresp        : in  std_logic_vector(1 downto 0)
    );
end entity;

architecture rtl of mrf_train_kernel is

    constant Cols_c    : natural := max3(NIn_g, NH1_g, NH2_g) + 1;
    constant Lanes_c   : natural := max3(NH1_g, NH2_g, NOut_g);
    constant WX_c      : natural := (NIn_g + 3) / 4;
    constant WSample_c : natural := WX_c + NOut_g;
    constant Header_c  : natural := 16;
    constant Body_c    : natural := NH1_g * (NIn_g + 1) + NH2_g * (NH1_g + 1) + NOut_g * (NH2_g + 1);
    type NatArr_t is array (0 to 2) of natural;
    constant NIn_c  : NatArr_t := (NIn_g, NH1_g, NH2_g);
    constant NOut_c : NatArr_t := (NH1_g, NH2_g, NOut_g);

    type State_t is (Idle_s, Header_s, Body_s, Train_s, ReadBack_s, RbWait_s, Flush_s, Done_s);
    signal state : State_t := Idle_s;

    signal rst                       : std_logic;
    signal ap_start, ap_done, ap_idle : std_logic;
    signal samples_ptr, win_ptr, wout_ptr : std_logic_vector(63 downto 0);
    signal n_samples_reg             : std_logic_vector(31 downto 0);

    signal rd_start, rd_valid, rd_ready, rd_busy : std_logic := '0';
    signal rd_addr                   : std_logic_vector(63 downto 0);
    signal rd_words                  : unsigned(31 downto 0);
    signal rd_data                   : std_logic_vector(31 downto 0);
    signal wr_start, wr_valid, wr_ready, wr_busy : std_logic := '0';
    signal wr_data                   : std_logic_vector(31 downto 0);

    type Hdr_t is array (0 to Header_c - 1) of std_logic_vector(31 downto 0);
    signal hdr                       : Hdr_t := (others => (others => '0'));
    signal word_cnt                  : natural range 0 to 65535;
    signal p_layer                   : natural range 0 to 2;
    signal p_row, p_col              : natural range 0 to 255;

    signal core_start, core_busy, core_done : std_logic := '0';
    signal in_valid, in_ready        : std_logic := '0';
    signal in_x                      : std_logic_vector(NIn_g * 8 - 1 downto 0);
    signal in_t                      : std_logic_vector(NOut_g * 32 - 1 downto 0);
    signal sample_buf                : std_logic_vector(WSample_c * 32 - 1 downto 0);
    signal s_word                    : natural range 0 to WSample_c;
    signal wt_we, wt_re, wt_rvalid   : std_logic := '0';
    signal wt_lane, wt_addr          : unsigned(7 downto 0);
    signal wt_wdata, wt_rdata        : std_logic_vector(31 downto 0);

    function sh(w : std_logic_vector(31 downto 0)) return unsigned is
    begin
        return unsigned(w(ShiftBits_c - 1 downto 0));
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
        port map (
            Clk => ap_clk, Rst => rst,
            Rd_Start => rd_start, Rd_Addr => rd_addr, Rd_Words => rd_words, Rd_Valid => rd_valid,
            Rd_Ready => rd_ready, Rd_Data => rd_data, Rd_Busy => rd_busy,
            Wr_Start => wr_start, Wr_Addr => wout_ptr, Wr_Words => to_unsigned(Body_c, 32),
            Wr_Valid => wr_valid, Wr_Ready => wr_ready, Wr_Data => wr_data, Wr_Busy => wr_busy,
            ArValid => m_axi_gmem_arvalid, ArReady => m_axi_gmem_arready,
            ArAddr => m_axi_gmem_araddr, ArLen => m_axi_gmem_arlen,
            RValid => m_axi_gmem_rvalid, RReady => m_axi_gmem_rready, RData => m_axi_gmem_rdata,
            RLast => m_axi_gmem_rlast,
            AwValid => m_axi_gmem_awvalid, AwReady => m_axi_gmem_awready,
            AwAddr => m_axi_gmem_awaddr, AwLen => m_axi_gmem_awlen,
            WValid => m_axi_gmem_wvalid, WReady => m_axi_gmem_wready, WData => m_axi_gmem_wdata,
            WStrb => m_axi_gmem_wstrb, WLast => m_axi_gmem_wlast,
            BValid => m_axi_gmem_bvalid, BReady => m_axi_gmem_bready);
    m_axi_gmem_awid    <= "0";
    m_axi_gmem_arid    <= "0";
    m_axi_gmem_arsize  <= "010";  -- 4 bytes
    m_axi_gmem_awsize  <= "010";
    m_axi_gmem_arburst <= "01";   -- INCR
    m_axi_gmem_awburst <= "01";

    i_core : entity work.mrf_train_core
        generic map (NIn_g => NIn_g, NH1_g => NH1_g, NH2_g => NH2_g, NOut_g => NOut_g,
                     MasterExtra_g => MasterExtra_g, DeltaBits_g => DeltaBits_g)
        port map (
            Clk => ap_clk, Rst => rst, Start => core_start, NSamples => unsigned(n_samples_reg),
            Busy => core_busy, Done => core_done,
            Cfg_Seed => hdr(1), Cfg_Log2Batch => unsigned(hdr(2)(4 downto 0)), Cfg_E => unsigned(hdr(3)(ShiftBits_c - 1 downto 0)),
            Cfg_Q0 => unsigned(hdr(4)(ShiftBits_c - 1 downto 0)), Cfg_Q1 => unsigned(hdr(5)(ShiftBits_c - 1 downto 0)), Cfg_Bp1 => unsigned(hdr(6)(ShiftBits_c - 1 downto 0)),
            Cfg_Bp2 => unsigned(hdr(7)(ShiftBits_c - 1 downto 0)), Cfg_Sw0 => unsigned(hdr(8)(ShiftBits_c - 1 downto 0)), Cfg_Sw1 => unsigned(hdr(9)(ShiftBits_c - 1 downto 0)),
            Cfg_Sw2 => unsigned(hdr(10)(ShiftBits_c - 1 downto 0)), Cfg_Sb0 => unsigned(hdr(11)(ShiftBits_c - 1 downto 0)), Cfg_Sb1 => unsigned(hdr(12)(ShiftBits_c - 1 downto 0)),
            Cfg_Sb2 => unsigned(hdr(13)(ShiftBits_c - 1 downto 0)),
            In_Valid => in_valid, In_Ready => in_ready, In_X => in_x, In_T => in_t,
            Wt_WrEna => wt_we, Wt_RdReq => wt_re, Wt_Lane => wt_lane, Wt_Addr => wt_addr,
            Wt_WrData => wt_wdata, Wt_RdValid => wt_rvalid, Wt_RdData => wt_rdata,
            Dbg_Valid => open, Dbg_Kind => open, Dbg_Layer => open, Dbg_Index => open,
            Dbg_Data => open);

    ap_idle <= '1' when state = Idle_s else '0';

    -- sample words: inputs packed 4 per word (byte k of word w = x[4w + k]), then targets
    g_x : for j in 0 to NIn_g - 1 generate
        in_x(8 * j + 7 downto 8 * j) <= sample_buf(32 * (j / 4) + 8 * (j mod 4) + 7 downto
                                                   32 * (j / 4) + 8 * (j mod 4));
    end generate;
    in_t <= sample_buf(WSample_c * 32 - 1 downto WX_c * 32);

    rd_ready <= '1' when state = Header_s or state = Body_s
                else '1' when state = Train_s and in_valid = '0' else '0';
    wt_wdata <= rd_data;
    wt_lane  <= to_unsigned(p_row, 8);
    wt_addr  <= to_unsigned(p_layer * Cols_c + p_col, 8);
    wt_we    <= rd_valid when state = Body_s else '0';

    p_fsm : process (ap_clk)
        procedure next_param is
        begin
            if p_col = NIn_c(p_layer) then
                p_col <= 0;
                if p_row = NOut_c(p_layer) - 1 then
                    p_row <= 0;
                    if p_layer < 2 then
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
                    rd_start <= '1';
                    rd_addr  <= win_ptr;
                    rd_words <= to_unsigned(Header_c + Body_c, 32);
                    word_cnt <= 0;
                    p_layer  <= 0;
                    p_row    <= 0;
                    p_col    <= 0;
                    state    <= Header_s;
                end if;
            elsif state = Header_s then
                if rd_valid = '1' then
                    for k in 0 to Header_c - 1 loop  -- constant indices (GHDL synthesis)
                        if word_cnt = k then
                            hdr(k) <= rd_data;
                        end if;
                    end loop;
                    if word_cnt = Header_c - 1 then
                        word_cnt <= 0;
                        state    <= Body_s;
                    else
                        word_cnt <= word_cnt + 1;
                    end if;
                end if;
            elsif state = Body_s then
                if rd_valid = '1' then
                    next_param;
                    if word_cnt = Body_c - 1 then
                        state <= Train_s;
                        core_start <= '1';
                        rd_start <= '1';
                        rd_addr  <= samples_ptr;
                        rd_words <= resize(unsigned(n_samples_reg) * WSample_c, 32);
                        s_word   <= 0;
                    end if;
                    word_cnt <= word_cnt + 1;
                end if;
            elsif state = Train_s then
                if in_valid = '0' and rd_valid = '1' then
                    for k in 0 to WSample_c - 1 loop
                        if s_word = k then
                            sample_buf(32 * k + 31 downto 32 * k) <= rd_data;
                        end if;
                    end loop;
                    if s_word = WSample_c - 1 then
                        s_word   <= 0;
                        in_valid <= '1';
                    else
                        s_word <= s_word + 1;
                    end if;
                end if;
                if in_valid = '1' and in_ready = '1' then
                    in_valid <= '0';
                end if;
                if core_done = '1' then
                    wr_start <= '1';
                    p_layer  <= 0;
                    p_row    <= 0;
                    p_col    <= 0;
                    word_cnt <= 0;
                    state    <= ReadBack_s;
                end if;
            elsif state = ReadBack_s then  -- one parameter word at a time through the core's read port
                if wr_valid = '0' then
                    wt_re <= '1';
                    state <= RbWait_s;
                end if;
            elsif state = RbWait_s then
                if wt_rvalid = '1' then
                    wr_data  <= wt_rdata;
                    wr_valid <= '1';
                    state    <= Flush_s;
                end if;
            elsif state = Flush_s then
                if wr_ready = '1' then
                    wr_valid <= '0';
                    next_param;
                    if word_cnt = Body_c - 1 then
                        state <= Done_s;
                    else
                        word_cnt <= word_cnt + 1;
                        state    <= ReadBack_s;
                    end if;
                end if;
            elsif state = Done_s then
                if wr_busy = '0' then
                    ap_done <= '1';
                    state   <= Idle_s;
                end if;
            end if;
            if rst = '1' then
                state    <= Idle_s;
                in_valid <= '0';
                wr_valid <= '0';
            end if;
        end if;
    end process;

end architecture;
