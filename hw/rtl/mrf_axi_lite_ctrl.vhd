------------------------------------------------------------------------------------------------
-- mrf_axi_lite_ctrl: Vitis ap_ctrl_hs control register file on AXI4-Lite (hw/SPEC.md §8).
--   0x00 bit0 ap_start (W1, self-clearing on ap_ready), bit1 ap_done (clear on read),
--        bit2 ap_idle, bit3 ap_ready (clear on read), bit7 auto_restart
--   0x04 GIE, 0x08 IER (bit0 done, bit1 ready), 0x0C ISR (toggle on write)
--   0x10/0x14 samples, 0x1C/0x20 weights_in, 0x28/0x2C weights_out (64-bit pointers),
--   0x34/0x3C n_samples low/high (a 64-bit count as two 32-bit scalars, SPEC §8.1)
------------------------------------------------------------------------------------------------
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity mrf_axi_lite_ctrl is
    port (
        Clk        : in  std_logic;
        Rst        : in  std_logic;
        -- AXI4-Lite slave
        AwValid    : in  std_logic;
        AwReady    : out std_logic;
        AwAddr     : in  std_logic_vector(6 downto 0);
        WValid     : in  std_logic;
        WReady     : out std_logic;
        WData      : in  std_logic_vector(31 downto 0);
        WStrb      : in  std_logic_vector(3 downto 0);
        BValid     : out std_logic;
        BReady     : in  std_logic;
        BResp      : out std_logic_vector(1 downto 0);
        ArValid    : in  std_logic;
        ArReady    : out std_logic;
        ArAddr     : in  std_logic_vector(6 downto 0);
        RValid     : out std_logic;
        RReady     : in  std_logic;
        RData      : out std_logic_vector(31 downto 0);
        RResp      : out std_logic_vector(1 downto 0);
        -- kernel side
        Ap_Start   : out std_logic;
        Ap_Done    : in  std_logic;  -- pulse
        Ap_Idle    : in  std_logic;
        Interrupt  : out std_logic;
        Samples    : out std_logic_vector(63 downto 0);
        WeightsIn  : out std_logic_vector(63 downto 0);
        WeightsOut : out std_logic_vector(63 downto 0);
        NSamples   : out std_logic_vector(63 downto 0)
    );
end entity;

architecture rtl of mrf_axi_lite_ctrl is
    signal start, done_r, ready_r, auto_r, gie : std_logic := '0';
    signal ier, isr                          : std_logic_vector(1 downto 0) := "00";
    signal aw_ok, w_ok                       : std_logic := '0';
    signal aw_addr                           : std_logic_vector(6 downto 0);
    signal w_data                            : std_logic_vector(31 downto 0);
    signal w_strb                            : std_logic_vector(3 downto 0);
    signal b_valid, r_valid                  : std_logic := '0';
    signal r_data                            : std_logic_vector(31 downto 0);
    -- argument words, in register order: samples lo/hi, weights_in lo/hi, weights_out lo/hi,
    -- n_samples lo/hi
    type Offs_t is array (natural range <>) of natural;
    constant ArgOffs_c : Offs_t(0 to 7) := (16#10#, 16#14#, 16#1C#, 16#20#, 16#28#, 16#2C#, 16#34#,
                                            16#3C#);
    signal regs        : std_logic_vector(ArgOffs_c'length * 32 - 1 downto 0) := (others => '0');

    function merge(old, new_d : std_logic_vector(31 downto 0); strb : std_logic_vector(3 downto 0))
        return std_logic_vector is
        variable r_v : std_logic_vector(31 downto 0) := old;
    begin
        for b in 0 to 3 loop
            if strb(b) = '1' then
                r_v(8 * b + 7 downto 8 * b) := new_d(8 * b + 7 downto 8 * b);
            end if;
        end loop;
        return r_v;
    end function;
begin

    AwReady <= not aw_ok and not b_valid;
    WReady  <= not w_ok and not b_valid;
    ArReady <= not r_valid;
    BValid  <= b_valid;
    BResp   <= "00";
    RValid  <= r_valid;
    RData   <= r_data;
    RResp   <= "00";

    p_seq : process (Clk)
        variable a_v : natural range 0 to 127;
    begin
        if rising_edge(Clk) then
            -- ap_done / ap_ready are sticky until read
            if Ap_Done = '1' then
                done_r  <= '1';
                ready_r <= '1';
                if ier(0) = '1' then
                    isr(0) <= '1';
                end if;
                if auto_r = '1' then
                    start <= '1';
                end if;
            end if;
            if start = '1' and Ap_Idle = '0' then
                start <= auto_r;  -- accepted (ap_ready of ap_ctrl_hs at the start of work)
            end if;

            -- write channel
            if AwValid = '1' and aw_ok = '0' and b_valid = '0' then
                aw_ok   <= '1';
                aw_addr <= AwAddr;
            end if;
            if WValid = '1' and w_ok = '0' and b_valid = '0' then
                w_ok   <= '1';
                w_data <= WData;
                w_strb <= WStrb;
            end if;
            if aw_ok = '1' and w_ok = '1' then
                aw_ok   <= '0';
                w_ok    <= '0';
                b_valid <= '1';
                a_v := to_integer(unsigned(aw_addr));
                if a_v = 16#00# then
                    if w_strb(0) = '1' then
                        if w_data(0) = '1' then
                            start <= '1';
                        end if;
                        auto_r <= w_data(7);
                    end if;
                elsif a_v = 16#04# then
                    gie <= w_data(0);
                elsif a_v = 16#08# then
                    ier <= w_data(1 downto 0);
                elsif a_v = 16#0C# then
                    isr <= isr xor w_data(1 downto 0);
                end if;
                for k in ArgOffs_c'range loop  -- constant indices (GHDL synthesis)
                    if a_v = ArgOffs_c(k) then
                        regs(32 * k + 31 downto 32 * k) <=
                            merge(regs(32 * k + 31 downto 32 * k), w_data, w_strb);
                    end if;
                end loop;
            end if;
            if b_valid = '1' and BReady = '1' then
                b_valid <= '0';
            end if;

            -- read channel
            if ArValid = '1' and r_valid = '0' then
                r_valid <= '1';
                r_data  <= (others => '0');
                a_v := to_integer(unsigned(ArAddr));
                if a_v = 16#00# then
                    r_data(0) <= start;
                    r_data(1) <= done_r;
                    r_data(2) <= Ap_Idle;
                    r_data(3) <= ready_r;
                    r_data(7) <= auto_r;
                    done_r  <= '0';  -- clear on read
                    ready_r <= '0';
                elsif a_v = 16#04# then
                    r_data(0) <= gie;
                elsif a_v = 16#08# then
                    r_data(1 downto 0) <= ier;
                elsif a_v = 16#0C# then
                    r_data(1 downto 0) <= isr;
                end if;
                for k in ArgOffs_c'range loop
                    if a_v = ArgOffs_c(k) then
                        r_data <= regs(32 * k + 31 downto 32 * k);
                    end if;
                end loop;
            end if;
            if r_valid = '1' and RReady = '1' then
                r_valid <= '0';
            end if;

            if Rst = '1' then
                start   <= '0';
                done_r  <= '0';
                ready_r <= '0';
                auto_r  <= '0';
                gie     <= '0';
                ier     <= "00";
                isr     <= "00";
                aw_ok   <= '0';
                w_ok    <= '0';
                b_valid <= '0';
                r_valid <= '0';
            end if;
        end if;
    end process;

    Ap_Start   <= start;
    Interrupt  <= gie and (isr(0) or isr(1));
    Samples    <= regs(63 downto 0);
    WeightsIn  <= regs(127 downto 64);
    WeightsOut <= regs(191 downto 128);
    NSamples   <= regs(255 downto 192);

end architecture;
