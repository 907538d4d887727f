// Verilator harness for a generated LLS top: a line protocol on stdin/stdout, so the
// comparison with the golden model lives in Rust (testbenches/src/cosim.rs) and the same
// protocol drives the Icarus testbench.
//
//   S <tag> <pixel hex>...     stream one sample (random valid/ready stalls if enabled),
//                              take the prediction, wait for idle
//                              -> P <pred> <cycles> <frame_error> <label out>
//   R <layer> <first> <count>  read back entries first.. of a layer -> R <hex>...
//   B <tag> <pixel hex>...     queue a sample for a back-to-back burst (no answer)
//   G                          stream the queued samples back to back, as fast as the
//                              design takes them -> G <cycles> <pred>:<label out>@<cycle>...
//                              (each prediction with the cycle of its handshake)
//   T <permille> <seed>        stall probability for s_axis_tvalid and m_axis_tready
//   X <beats>                  stream <beats> pixels of a frame, then pulse reset -> X ok
//   W <path>                   start an FST waveform (built with LLS_TRACE)
// A tag is the sample's s_axis_tuser: its label, and above it its learning-rate halvings
// where the design has a schedule (rtl_gen's DesignParams::sample_tag).
//   Q                          quit -> Q <total cycles>
//
// TOP_HEADER / TOP_CLASS name the Verilated top and RB_LATENCY its readback latency in
// clocks; they come from the build command.
#include <verilated.h>
#include TOP_HEADER
#ifdef LLS_TRACE
#include <verilated_fst_c.h>
#endif

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Sample {
    unsigned tag;  // s_axis_tuser: the label (and its halvings)
    std::vector<unsigned> px;
};

Sample parse_sample(std::istringstream& in) {
    Sample s{0, {}};
    in >> s.tag;
    unsigned v;
    while (in >> std::hex >> v) s.px.push_back(v);
    return s;
}

struct Harness {
    VerilatedContext ctx;
    std::unique_ptr<TOP_CLASS> top;
    uint64_t cycles = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    uint32_t stall_permille = 0;
#ifdef LLS_TRACE
    std::unique_ptr<VerilatedFstC> fst;
#endif

    Harness() : top(new TOP_CLASS{&ctx}) {}

    // xorshift64*: the harness' own stall pattern, reproducible from the seed.
    bool stall() {
        if (stall_permille == 0) return false;
        rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
        return ((rng * 0x2545F4914F6CDD1Dull) >> 33) % 1000 < stall_permille;
    }

    void dump() {
#ifdef LLS_TRACE
        if (fst) fst->dump(ctx.time());
#endif
    }

    // Inputs are set with the clock low; eval shows the combinational outputs of this
    // cycle; the rising edge then commits it.
    void settle() { top->clk = 0; top->eval(); ctx.timeInc(1); dump(); }
    void edge() { top->clk = 1; top->eval(); ctx.timeInc(1); dump(); ++cycles; }

    void reset(int n) {
        top->rst = 1;
        top->s_axis_tvalid = 0;
        top->m_axis_tready = 0;
        for (int i = 0; i < n; ++i) { settle(); edge(); }
        top->rst = 0;
        settle();
    }
};

}  // namespace

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    Harness h;
    h.reset(4);
    h.cycles = 0;
    std::string line;
    std::vector<Sample> burst;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        char cmd = 0;
        in >> cmd;
        if (cmd == 'S') {
            const Sample sample = parse_sample(in);
            const unsigned tag = sample.tag;
            const std::vector<unsigned>& px = sample.px;
            const uint64_t start = h.cycles;
            const uint64_t limit = start + 50'000'000ull;
            size_t sent = 0;
            bool got = false;
            unsigned pred = 0, label_out = 0;
            for (;;) {
                const bool valid = sent < px.size() && !h.stall();
                h.top->s_axis_tvalid = valid;
                h.top->s_axis_tdata = valid ? px[sent] : 0;
                h.top->s_axis_tlast = valid && sent + 1 == px.size();
                h.top->s_axis_tuser = tag;
                h.top->m_axis_tready = !h.stall();
                h.settle();
                if (sent == px.size() && got && h.top->idle) break;
                if (h.top->m_axis_tvalid && h.top->m_axis_tready) {
                    pred = h.top->m_axis_tdata;
                    label_out = h.top->m_axis_tuser;
                    got = true;
                }
                const bool beat = valid && h.top->s_axis_tready;
                h.edge();
                if (beat) ++sent;
                if (h.cycles > limit) {
                    std::printf("TIMEOUT %llu\n", (unsigned long long)(h.cycles - start));
                    std::fflush(stdout);
                    return 2;
                }
            }
            h.top->s_axis_tvalid = 0;
            h.top->m_axis_tready = 0;
            std::printf("P %u %llu %u %u\n", pred, (unsigned long long)(h.cycles - start),
                        (unsigned)h.top->frame_error, label_out);
        } else if (cmd == 'R') {
            unsigned layer = 0, first = 0, count = 0;
            in >> layer >> first >> count;
            h.top->rb_layer = layer;
            std::string out = "R";
            char buf[24];
            const uint64_t save = h.cycles;
            // Pipelined: an address every clock, its entry RB_LATENCY clocks later.
            for (unsigned k = 0; count > 0 && k + 1 < count + RB_LATENCY; ++k) {
                h.top->rb_addr = first + (k < count ? k : count - 1);
                h.settle();
                h.edge();
                h.top->clk = 0;
                h.top->eval();
                if (k + 1 >= RB_LATENCY) {
                    std::snprintf(buf, sizeof buf, " %llx", (unsigned long long)(uint64_t)h.top->rb_data);
                    out += buf;
                }
            }
            h.cycles = save;  // readback is not part of a sample's cycles
            std::printf("%s\n", out.c_str());
        } else if (cmd == 'B') {
            burst.push_back(parse_sample(in));
            continue;
        } else if (cmd == 'G') {
            // Samples follow each other as soon as s_axis_tready allows: layer k works on
            // sample n while layer k+1 works on sample n-1.
            const uint64_t start = h.cycles;
            size_t si = 0, bi = 0, got = 0;
            std::string out;
            char buf[64];
            for (;;) {
                const bool valid = si < burst.size() && !h.stall();
                const Sample* cur = si < burst.size() ? &burst[si] : nullptr;
                h.top->s_axis_tvalid = valid;
                h.top->s_axis_tdata = valid ? cur->px[bi] : 0;
                h.top->s_axis_tlast = valid && bi + 1 == cur->px.size();
                h.top->s_axis_tuser = cur ? cur->tag : 0;
                h.top->m_axis_tready = !h.stall();
                h.settle();
                if (si == burst.size() && got == burst.size() && h.top->idle) break;
                if (h.top->m_axis_tvalid && h.top->m_axis_tready) {
                    std::snprintf(buf, sizeof buf, " %u:%u@%llu", (unsigned)h.top->m_axis_tdata,
                                  (unsigned)h.top->m_axis_tuser,
                                  (unsigned long long)(h.cycles - start));
                    out += buf;
                    ++got;
                }
                const bool beat = valid && h.top->s_axis_tready;
                h.edge();
                if (beat && ++bi == cur->px.size()) {
                    bi = 0;
                    ++si;
                }
                if (h.cycles - start > 50'000'000ull * (burst.size() + 1)) {
                    std::printf("TIMEOUT %llu\n", (unsigned long long)(h.cycles - start));
                    std::fflush(stdout);
                    return 2;
                }
            }
            h.top->s_axis_tvalid = 0;
            h.top->m_axis_tready = 0;
            burst.clear();
            std::printf("G %llu%s\n", (unsigned long long)(h.cycles - start), out.c_str());
        } else if (cmd == 'T') {
            unsigned seed = 0;
            in >> h.stall_permille >> seed;
            h.rng = 0x9E3779B97F4A7C15ull ^ (uint64_t(seed) << 1 | 1);
            std::printf("T ok\n");
        } else if (cmd == 'X') {
            unsigned beats = 0;
            in >> beats;
            for (unsigned i = 0; i < beats; ++i) {
                h.top->s_axis_tvalid = 1;
                h.top->s_axis_tdata = (i * 37u) & 0xff;
                h.top->s_axis_tlast = 0;
                h.settle();
                h.edge();
            }
            h.reset(3);
            std::printf("X ok\n");
        } else if (cmd == 'W') {
            std::string path;
            in >> path;
#ifdef LLS_TRACE
            Verilated::traceEverOn(true);
            h.fst.reset(new VerilatedFstC);
            h.top->trace(h.fst.get(), 99);
            h.fst->open(path.c_str());
            std::printf("W ok\n");
#else
            std::printf("W unsupported\n");
#endif
        } else if (cmd == 'Q') {
            std::printf("Q %llu\n", (unsigned long long)h.cycles);
            std::fflush(stdout);
            break;
        } else {
            std::printf("E unknown command\n");
        }
        std::fflush(stdout);
    }
#ifdef LLS_TRACE
    if (h.fst) h.fst->close();
#endif
    h.top->final();
    return 0;
}
