// Icarus Verilog testbench speaking the harness line protocol of tb_main.cpp on
// stdin/stdout (commands S, R, T, X, Q; see there). The design's name and widths come in
// as macros from the build command: TOP, N_IN, LABEL_W, TAG_W (the label and its
// learning-rate halvings, `s_axis_tuser`), RB_LAYER_W, RB_ADDR_W, RB_DATA_W, LOAD_W, RB_LATENCY.
`timescale 1ns / 1ps
module tb;
    localparam STDIN = 32'h8000_0000;
    localparam STDOUT = 32'h8000_0001;

    reg clk = 1'b0;
    reg rst = 1'b1;
    reg [7:0] s_axis_tdata = 8'd0;
    reg s_axis_tvalid = 1'b0;
    wire s_axis_tready;
    reg s_axis_tlast = 1'b0;
    reg [`TAG_W-1:0] s_axis_tuser = 0;
    wire [`LABEL_W-1:0] m_axis_tdata;
    wire m_axis_tvalid;
    wire [`LABEL_W-1:0] m_axis_tuser;
    reg m_axis_tready = 1'b0;
    wire idle;
    wire frame_error;
    reg [`RB_LAYER_W-1:0] rb_layer = 0;
    reg [`RB_ADDR_W-1:0] rb_addr = 0;
    wire [`RB_DATA_W-1:0] rb_data;

    `TOP dut (
        .clk(clk), .rst(rst),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .s_axis_tlast(s_axis_tlast), .s_axis_tuser(s_axis_tuser),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tuser(m_axis_tuser),
        .idle(idle), .frame_error(frame_error),
        .rb_layer(rb_layer), .rb_addr(rb_addr), .rb_data(rb_data),
        .load_we(1'b0), .load_data({`LOAD_W{1'b0}})
    );

    reg [7:0] px [0:`N_IN-1];
    reg [7:0] cmd;
    integer rc, i, label, layer, first, count, sent, got, pred, label_out, beat;
    integer permille, seed, beats;
    reg [63:0] cycles, start, rng;
    reg [31:0] rnd;

    // Same xorshift64* stall pattern as the Verilator harness.
    function stall_draw;
        input dummy;
        begin
            if (permille == 0) begin
                stall_draw = 1'b0;
            end else begin
                rng = rng ^ (rng >> 12);
                rng = rng ^ (rng << 25);
                rng = rng ^ (rng >> 27);
                rnd = (rng * 64'h2545F4914F6CDD1D) >> 33;
                stall_draw = (rnd % 1000) < permille;
            end
        end
    endfunction

    task tick;
        begin
            #1 clk = 1'b1;
            #1 clk = 1'b0;
            cycles = cycles + 1;
        end
    endtask

    task do_reset;
        input integer n;
        integer k;
        begin
            rst = 1'b1;
            s_axis_tvalid = 1'b0;
            m_axis_tready = 1'b0;
            for (k = 0; k < n; k = k + 1) tick;
            rst = 1'b0;
            #1;
        end
    endtask

    initial begin
        permille = 0;
        rng = 64'h9E3779B97F4A7C15;
        cycles = 0;
        do_reset(4);
        cycles = 0;
        forever begin
            rc = $fscanf(STDIN, " %c", cmd);
            if (rc != 1) $finish;
            if (cmd == "S") begin
                rc = $fscanf(STDIN, "%d", label);
                for (i = 0; i < `N_IN; i = i + 1) rc = $fscanf(STDIN, "%h", px[i]);
                start = cycles;
                sent = 0;
                got = 0;
                pred = 0;
                label_out = 0;
                begin : stream
                    forever begin
                        s_axis_tvalid = (sent < `N_IN) && !stall_draw(0);
                        s_axis_tdata = s_axis_tvalid ? px[sent] : 8'd0;
                        s_axis_tlast = s_axis_tvalid && (sent == `N_IN - 1);
                        s_axis_tuser = label;
                        m_axis_tready = !stall_draw(0);
                        #1;
                        if (sent == `N_IN && got && idle) disable stream;
                        if (m_axis_tvalid && m_axis_tready) begin
                            pred = m_axis_tdata;
                            label_out = m_axis_tuser;
                            got = 1;
                        end
                        beat = s_axis_tvalid && s_axis_tready;
                        tick;
                        if (beat) sent = sent + 1;
                    end
                end
                s_axis_tvalid = 1'b0;
                m_axis_tready = 1'b0;
                $fdisplay(STDOUT, "P %0d %0d %0d %0d", pred, cycles - start, frame_error, label_out);
            end else if (cmd == "R") begin
                rc = $fscanf(STDIN, "%d %d %d", layer, first, count);
                rb_layer = layer;
                start = cycles;
                $fwrite(STDOUT, "R");
                // Pipelined: an address every clock, its entry `RB_LATENCY clocks later.
                for (i = 0; count > 0 && i + 1 < count + `RB_LATENCY; i = i + 1) begin
                    rb_addr = first + ((i < count) ? i : count - 1);
                    #1;
                    tick;
                    #1;
                    if (i + 1 >= `RB_LATENCY) $fwrite(STDOUT, " %0h", rb_data);
                end
                $fwrite(STDOUT, "\n");
                cycles = start;
            end else if (cmd == "T") begin
                rc = $fscanf(STDIN, "%d %d", permille, seed);
                rng = 64'h9E3779B97F4A7C15 ^ ((seed << 1) | 1);
                $fdisplay(STDOUT, "T ok");
            end else if (cmd == "X") begin
                rc = $fscanf(STDIN, "%d", beats);
                for (i = 0; i < beats; i = i + 1) begin
                    s_axis_tvalid = 1'b1;
                    s_axis_tdata = (i * 37) & 8'hff;
                    s_axis_tlast = 1'b0;
                    #1;
                    tick;
                end
                do_reset(3);
                $fdisplay(STDOUT, "X ok");
            end else if (cmd == "Q") begin
                $fdisplay(STDOUT, "Q %0d", cycles);
                $fflush(STDOUT);
                $finish;
            end else if (cmd == "W") begin
                $fdisplay(STDOUT, "W unsupported");
            end
            $fflush(STDOUT);
        end
    end
endmodule
