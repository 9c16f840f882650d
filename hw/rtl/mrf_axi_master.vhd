------------------------------------------------------------------------------------------------
-- mrf_axi_master: AXI4 burst reader and writer on a wide data bus (64-bit addresses).
-- Read, two modes:
--   Rd_Wide = '0': Rd_Words 32-bit words from Rd_Addr (narrow transfers, ARSIZE 4 bytes), each
--                  on Rd_Word (taken from its byte lanes of the beat);
--   Rd_Wide = '1': Rd_Words whole beats (DataBits_g / 8 bytes, ARSIZE = the bus) on Rd_Data.
-- The address channel runs ahead of the data: up to MaxOutst_c bursts are requested before
-- their data arrive, so memory latency is hidden behind the bursts in flight (the sample
-- stream of 16 replicas needs about 0.6 words a cycle). Bursts stop at 4 KiB boundaries.
-- Write: Wr_Words 32-bit words from the Wr_ stream to Wr_Addr (narrow transfers, the word
-- replicated on the bus and WSTRB selecting its lanes), bursts of up to 16 beats, one
-- outstanding. Base addresses: 64-byte aligned.
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

use work.mrf_train_pkg.all;

entity mrf_axi_master is
    generic (
        DataBits_g : positive := 512  -- AXI data width, a power of two >= 32 (Vitis: 512)
    );
    port (
        Clk       : in  std_logic;
        Rst       : in  std_logic;
        -- read command and stream
        Rd_Start  : in  std_logic;
        Rd_Wide   : in  std_logic;
        Rd_Addr   : in  std_logic_vector(63 downto 0);
        Rd_Words  : in  unsigned(63 downto 0);  -- words, or beats when Rd_Wide (64-bit: no wrap)
        Rd_Valid  : out std_logic;
        Rd_Ready  : in  std_logic;
        Rd_Word   : out std_logic_vector(31 downto 0);
        Rd_Data   : out std_logic_vector(DataBits_g - 1 downto 0);
        Rd_Busy   : out std_logic;
        -- write command and stream
        Wr_Start  : in  std_logic;
        Wr_Addr   : in  std_logic_vector(63 downto 0);
        Wr_Words  : in  unsigned(31 downto 0);
        Wr_Valid  : in  std_logic;
        Wr_Ready  : out std_logic;
        Wr_Data   : in  std_logic_vector(31 downto 0);
        Wr_Busy   : out std_logic;
        -- AXI4 master
        ArValid   : out std_logic;
        ArReady   : in  std_logic;
        ArAddr    : out std_logic_vector(63 downto 0);
        ArLen     : out std_logic_vector(7 downto 0);
        ArSize    : out std_logic_vector(2 downto 0);
        RValid    : in  std_logic;
        RReady    : out std_logic;
        RData     : in  std_logic_vector(DataBits_g - 1 downto 0);
        RLast     : in  std_logic;
        AwValid   : out std_logic;
        AwReady   : in  std_logic;
        AwAddr    : out std_logic_vector(63 downto 0);
        AwLen     : out std_logic_vector(7 downto 0);
        WValid    : out std_logic;
        WReady    : in  std_logic;
        WData     : out std_logic_vector(DataBits_g - 1 downto 0);
        WStrb     : out std_logic_vector(DataBits_g / 8 - 1 downto 0);
        WLast     : out std_logic;
        BValid    : in  std_logic;
        BReady    : out std_logic
    );
end entity;

architecture rtl of mrf_axi_master is
    constant MaxBurst_c  : natural := 16;   -- word mode and writes (64 bytes from an aligned base)
    constant WideBurst_c : natural := 64;   -- beats of a wide burst (at most 4 KiB)
    constant MaxOutst_c  : natural := 4;    -- read bursts in flight
    constant Lanes_c     : natural := DataBits_g / 32;
    constant LaneBits_c  : natural := log2ceil(Lanes_c);
    constant BeatBytes_c : natural := DataBits_g / 8;
    constant BeatLog_c   : natural := log2ceil(BeatBytes_c);
    type WrState_t is (WIdle_s, WAddr_s, WData_s, WResp_s);
    signal wstate   : WrState_t := WIdle_s;
    -- read: address side (ar_) and data side (r_)
    signal ar_busy  : std_logic := '0';
    signal ar_addr  : unsigned(63 downto 0);
    signal ar_left  : unsigned(63 downto 0) := (others => '0');
    signal ar_len   : unsigned(7 downto 0);
    signal ar_ok    : std_logic := '0';  -- ar_len is valid for ar_addr / ar_left
    signal wide     : std_logic := '0';
    signal outst    : natural range 0 to MaxOutst_c := 0;
    signal r_left   : unsigned(63 downto 0) := (others => '0');
    signal r_lane   : unsigned(LaneBits_c - 1 downto 0);
    signal w_addr   : unsigned(63 downto 0);
    signal w_left   : unsigned(31 downto 0);
    signal w_len    : unsigned(7 downto 0);
    signal w_beat   : unsigned(7 downto 0);
    signal ar_fire, r_fire, r_last : std_logic;

    function burst(left : unsigned) return unsigned is
    begin
        if left >= MaxBurst_c then
            return to_unsigned(MaxBurst_c - 1, 8);
        end if;
        return resize(left - 1, 8);
    end function;
begin

    assert DataBits_g >= 32 and 2 ** log2ceil(DataBits_g) = DataBits_g
        report "DataBits_g must be a power of two >= 32" severity failure;

    -- read address channel: issues bursts while fewer than MaxOutst_c are in flight
    ArValid <= '1' when ar_busy = '1' and ar_ok = '1' and outst < MaxOutst_c else '0';
    ar_fire <= '1' when ar_busy = '1' and ar_ok = '1' and outst < MaxOutst_c and ArReady = '1'
               else '0';
    ArAddr  <= std_logic_vector(ar_addr);
    ArLen   <= std_logic_vector(ar_len);
    ArSize  <= std_logic_vector(to_unsigned(BeatLog_c, 3)) when wide = '1' else "010";

    RReady   <= Rd_Ready when r_left /= 0 else '0';
    Rd_Valid <= RValid when r_left /= 0 else '0';
    r_fire   <= '1' when r_left /= 0 and RValid = '1' and Rd_Ready = '1' else '0';
    r_last   <= r_fire and RLast;
    Rd_Data  <= RData;
    p_word : process (all)  -- the word of a narrow beat: its byte lanes
    begin
        Rd_Word <= RData(31 downto 0);
        for k in 1 to Lanes_c - 1 loop
            if to_integer(r_lane) = k then
                Rd_Word <= RData(32 * k + 31 downto 32 * k);
            end if;
        end loop;
    end process;
    Rd_Busy  <= '1' when r_left /= 0 or ar_busy = '1' else '0';

    AwValid  <= '1' when wstate = WAddr_s else '0';
    AwAddr   <= std_logic_vector(w_addr);
    AwLen    <= std_logic_vector(w_len);
    WValid   <= Wr_Valid when wstate = WData_s else '0';
    Wr_Ready <= WReady when wstate = WData_s else '0';
    g_wdata : for k in 0 to Lanes_c - 1 generate
        WData(32 * k + 31 downto 32 * k) <= Wr_Data;
        WStrb(4 * k + 3 downto 4 * k) <= "1111" when to_integer(w_addr(LaneBits_c + 1 downto 2)) = k
                                         else "0000";
    end generate;
    WLast    <= '1' when w_beat = w_len else '0';
    BReady   <= '1' when wstate = WResp_s else '0';
    Wr_Busy  <= '0' when wstate = WIdle_s else '1';

    p_read : process (Clk)
        variable to4k_v : unsigned(12 - BeatLog_c downto 0);
        variable len_v  : unsigned(63 downto 0);
    begin
        if rising_edge(Clk) then
            -- the next burst's length, one cycle after each request (short paths): word bursts
            -- of up to 16, wide bursts of up to WideBurst_c beats ending at a 4 KiB boundary
            if ar_fire = '1' then
                ar_ok <= '0';
            elsif ar_busy = '1' and ar_ok = '0' then
                if wide = '1' then
                    to4k_v := to_unsigned(4096 / BeatBytes_c, to4k_v'length)
                              - resize(ar_addr(11 downto BeatLog_c), to4k_v'length);
                    len_v := resize(to4k_v, 64);
                    if len_v > WideBurst_c then
                        len_v := to_unsigned(WideBurst_c, 64);
                    end if;
                    if ar_left < len_v then
                        len_v := ar_left;
                    end if;
                    ar_len <= resize(len_v - 1, 8);
                else
                    ar_len <= burst(ar_left);
                end if;
                ar_ok <= '1';
            end if;
            if ar_fire = '1' then
                ar_left <= ar_left - resize(ar_len, 64) - 1;
                if wide = '1' then
                    ar_addr <= ar_addr + shift_left(resize(ar_len, 64) + 1, BeatLog_c);
                else
                    ar_addr <= ar_addr + shift_left(resize(ar_len, 64) + 1, 2);
                end if;
                if ar_left = resize(ar_len, 64) + 1 then
                    ar_busy <= '0';
                end if;
            end if;
            if ar_fire = '1' and r_last = '0' then
                outst <= outst + 1;
            elsif ar_fire = '0' and r_last = '1' then
                outst <= outst - 1;
            end if;
            if r_fire = '1' then
                r_left <= r_left - 1;
                r_lane <= r_lane + 1;
            end if;
            if ar_busy = '0' and r_left = 0 and Rd_Start = '1' and Rd_Words /= 0 then
                wide    <= Rd_Wide;
                ar_addr <= unsigned(Rd_Addr);
                ar_left <= Rd_Words;
                r_left  <= Rd_Words;
                r_lane  <= unsigned(Rd_Addr(LaneBits_c + 1 downto 2));
                ar_busy <= '1';
                ar_ok   <= '0';
            end if;
            if Rst = '1' then
                ar_busy <= '0';
                ar_ok   <= '0';
                r_left  <= (others => '0');
                outst   <= 0;
            end if;
        end if;
    end process;

    p_write : process (Clk)
    begin
        if rising_edge(Clk) then
            if wstate = WIdle_s then
                if Wr_Start = '1' and Wr_Words /= 0 then
                    w_addr <= unsigned(Wr_Addr);
                    w_left <= Wr_Words;
                    w_len  <= burst(Wr_Words);
                    wstate <= WAddr_s;
                end if;
            elsif wstate = WAddr_s then
                if AwReady = '1' then
                    w_beat <= (others => '0');
                    wstate <= WData_s;
                end if;
            elsif wstate = WData_s then
                if Wr_Valid = '1' and WReady = '1' then
                    w_beat <= w_beat + 1;
                    w_left <= w_left - 1;
                    w_addr <= w_addr + 4;
                    if w_beat = w_len then
                        wstate <= WResp_s;
                    end if;
                end if;
            elsif wstate = WResp_s then
                if BValid = '1' then
                    if w_left = 0 then
                        wstate <= WIdle_s;
                    else
                        w_len  <= burst(w_left);
                        wstate <= WAddr_s;
                    end if;
                end if;
            end if;
            if Rst = '1' then
                wstate <= WIdle_s;
            end if;
        end if;
    end process;

end architecture;
