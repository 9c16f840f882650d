------------------------------------------------------------------------------------------------
-- mrf_axi_master: sequential AXI4 burst reader and writer of 32-bit words (64-bit addresses).
-- Rd_Start reads Rd_Words words from Rd_Addr into the Rd_ stream; Wr_Start writes Wr_Words words
-- from the Wr_ stream to Wr_Addr. Bursts of up to 16 beats, one outstanding per direction; the
-- base addresses must be 64-byte aligned so that no burst crosses a 4 KiB boundary.
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity mrf_axi_master is
    port (
        Clk       : in  std_logic;
        Rst       : in  std_logic;
        -- read command and stream
        Rd_Start  : in  std_logic;
        Rd_Addr   : in  std_logic_vector(63 downto 0);
        Rd_Words  : in  unsigned(63 downto 0);  -- 64-bit: no wrap for long sample streams
        Rd_Valid  : out std_logic;
        Rd_Ready  : in  std_logic;
        Rd_Data   : out std_logic_vector(31 downto 0);
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
        RValid    : in  std_logic;
        RReady    : out std_logic;
        RData     : in  std_logic_vector(31 downto 0);
        RLast     : in  std_logic;
        AwValid   : out std_logic;
        AwReady   : in  std_logic;
        AwAddr    : out std_logic_vector(63 downto 0);
        AwLen     : out std_logic_vector(7 downto 0);
        WValid    : out std_logic;
        WReady    : in  std_logic;
        WData     : out std_logic_vector(31 downto 0);
        WStrb     : out std_logic_vector(3 downto 0);
        WLast     : out std_logic;
        BValid    : in  std_logic;
        BReady    : out std_logic
    );
end entity;

architecture rtl of mrf_axi_master is
    constant MaxBurst_c : natural := 16;
    type RdState_t is (RIdle_s, RAddr_s, RData_s);
    type WrState_t is (WIdle_s, WAddr_s, WData_s, WResp_s);
    signal rstate   : RdState_t := RIdle_s;
    signal wstate   : WrState_t := WIdle_s;
    signal r_addr, w_addr   : unsigned(63 downto 0);
    signal r_left           : unsigned(63 downto 0);
    signal w_left           : unsigned(31 downto 0);
    signal r_len, w_len     : unsigned(7 downto 0);
    signal w_beat           : unsigned(7 downto 0);

    function burst(left : unsigned) return unsigned is
    begin
        if left >= MaxBurst_c then
            return to_unsigned(MaxBurst_c - 1, 8);
        end if;
        return resize(left - 1, 8);
    end function;
begin

    ArValid  <= '1' when rstate = RAddr_s else '0';
    ArAddr   <= std_logic_vector(r_addr);
    ArLen    <= std_logic_vector(r_len);
    RReady   <= Rd_Ready when rstate = RData_s else '0';
    Rd_Valid <= RValid when rstate = RData_s else '0';
    Rd_Data  <= RData;
    Rd_Busy  <= '0' when rstate = RIdle_s else '1';

    AwValid  <= '1' when wstate = WAddr_s else '0';
    AwAddr   <= std_logic_vector(w_addr);
    AwLen    <= std_logic_vector(w_len);
    WValid   <= Wr_Valid when wstate = WData_s else '0';
    Wr_Ready <= WReady when wstate = WData_s else '0';
    WData    <= Wr_Data;
    WStrb    <= "1111";
    WLast    <= '1' when w_beat = w_len else '0';
    BReady   <= '1' when wstate = WResp_s else '0';
    Wr_Busy  <= '0' when wstate = WIdle_s else '1';

    p_read : process (Clk)
    begin
        if rising_edge(Clk) then
            if rstate = RIdle_s then
                if Rd_Start = '1' and Rd_Words /= 0 then
                    r_addr <= unsigned(Rd_Addr);
                    r_left <= Rd_Words;
                    r_len  <= burst(Rd_Words);
                    rstate <= RAddr_s;
                end if;
            elsif rstate = RAddr_s then
                if ArReady = '1' then
                    rstate <= RData_s;
                end if;
            elsif rstate = RData_s then
                if RValid = '1' and Rd_Ready = '1' then
                    r_left <= r_left - 1;
                    r_addr <= r_addr + 4;
                    if RLast = '1' then
                        if r_left = 1 then
                            rstate <= RIdle_s;
                        else
                            r_len  <= burst(r_left - 1);
                            rstate <= RAddr_s;
                        end if;
                    end if;
                end if;
            end if;
            if Rst = '1' then
                rstate <= RIdle_s;
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
