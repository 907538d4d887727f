// Verilator harness for `<top>_host`, the trainer behind its UART: the host's bytes go
// onto the uart_rx pin bit by bit, the bytes on the uart_tx pin come back, so the host
// link's own code (host-link's `Host`) drives the simulated board byte for byte.
//
//   S <hex>...   queue bytes for uart_rx (sent 8N1 as the simulation runs) -> nothing
//   R            run until a byte has come out on uart_tx -> B <hex>, or until every
//                queued byte is sent and the line from the board has been quiet for
//                IDLE_CYCLES -> N
//   Q            quit -> Q <total cycles>
//
// TOP_HEADER / TOP_CLASS name the Verilated top; CLOCKS_PER_BIT and IDLE_CYCLES come from
// the build command.
#include <verilated.h>
#include TOP_HEADER

#include <cstdint>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

namespace {

struct Harness {
    VerilatedContext ctx;
    std::unique_ptr<TOP_CLASS> top;
    uint64_t cycles = 0;
    // Bits still to drive onto uart_rx, each for CLOCKS_PER_BIT clocks.
    std::deque<int> rx_bits;
    uint32_t rx_left = 0;
    // The uart_tx decoder: clocks into the byte being received (0: waiting for a start
    // bit), and its bits so far.
    uint32_t tx_clock = 0;
    uint32_t tx_byte = 0;

    Harness() : top(new TOP_CLASS{&ctx}) {
        top->uart_rx = 1;
        top->rst = 1;
        for (int i = 0; i < 8; i++) tick();
        top->rst = 0;
        for (int i = 0; i < 8; i++) tick();
    }

    void tick() {
        top->clk = 0;
        top->eval();
        top->clk = 1;
        top->eval();
        cycles++;
    }

    void queue(unsigned byte) {
        rx_bits.push_back(0);
        for (int i = 0; i < 8; i++) rx_bits.push_back((byte >> i) & 1);
        rx_bits.push_back(1);
    }

    // One clock: the next rx bit when the last has lasted its time; returns a byte when
    // one has come out on uart_tx (its stop bit sampled), else -1.
    int step() {
        if (rx_left == 0 && !rx_bits.empty()) {
            top->uart_rx = rx_bits.front();
            rx_bits.pop_front();
            rx_left = CLOCKS_PER_BIT;
        } else if (rx_left == 0) {
            top->uart_rx = 1;
        }
        if (rx_left > 0) rx_left--;
        tick();
        int line = top->uart_tx;
        if (tx_clock == 0) {
            if (line == 0) tx_clock = 1;
            return -1;
        }
        tx_clock++;
        // Bit k (0 start, 1..8 data, 9 stop) is sampled at its middle.
        uint32_t at = tx_clock - 1;
        if (at % CLOCKS_PER_BIT == CLOCKS_PER_BIT / 2) {
            uint32_t bit = at / CLOCKS_PER_BIT;
            if (bit >= 1 && bit <= 8) tx_byte |= uint32_t(line) << (bit - 1);
            if (bit == 9) {
                // A low stop bit: a damaged byte, passed on as 0 for the host's CRC to
                // reject.
                int b = line ? int(tx_byte) : 0;
                tx_clock = 0;
                tx_byte = 0;
                return b;
            }
        }
        return -1;
    }

    void receive() {
        uint64_t quiet = 0;
        while (true) {
            int b = step();
            if (b >= 0) {
                std::printf("B %02x\n", b);
                return;
            }
            bool busy = !rx_bits.empty() || rx_left > 0 || tx_clock != 0;
            quiet = busy ? 0 : quiet + 1;
            if (quiet >= IDLE_CYCLES) {
                std::printf("N\n");
                return;
            }
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    Harness h;
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        if (cmd == "S") {
            unsigned b;
            while (in >> std::hex >> b) h.queue(b);
        } else if (cmd == "R") {
            h.receive();
        } else if (cmd == "Q") {
            std::printf("Q %llu\n", static_cast<unsigned long long>(h.cycles));
            std::fflush(stdout);
            break;
        } else {
            std::printf("E unknown command %s\n", cmd.c_str());
        }
        std::fflush(stdout);
    }
    h.top->final();
    return 0;
}
