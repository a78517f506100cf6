// Recordings played through the terminal emulator into content records: commands as entered
// (line editing applied, prompt stripped) with and without input events, full-screen programs,
// screen text kept for a second or more, window titles.
#include "ingest/terminal.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>

namespace {

using namespace audex;

constexpr micros t0 = 1'700'000'000'000'000;

micros at(double seconds) {
    return t0 + micros(std::llround(seconds * 1e6));
}

// A hand-written recording.
struct recording {
    ingest::asciicast cast;

    explicit recording(int width = 40, int height = 10) {
        cast.width = width;
        cast.height = height;
        cast.started = t0;
    }
    recording& out(double time, std::string data) {
        cast.events.push_back({time, 'o', std::move(data)});
        return *this;
    }
    recording& in(double time, std::string data) {
        cast.events.push_back({time, 'i', std::move(data)});
        return *this;
    }
    // The same recording as `asciinema rec` writes it without --stdin.
    recording output_only() const {
        recording r = *this;
        std::erase_if(r.cast.events, [](auto& e) { return e.code == 'i'; });
        return r;
    }
    std::vector<index::content_record> records() const { return ingest::terminal_records(cast); }
};

std::vector<index::content_record> of_type(const std::vector<index::content_record>& records,
                                           std::string_view type) {
    std::vector<index::content_record> out;
    for (auto& r : records)
        if (r.type == type) out.push_back(r);
    return out;
}

std::vector<std::string> commands(const recording& r) {
    std::vector<std::string> out;
    for (auto& c : of_type(r.records(), "command"))
        out.push_back(c.text);
    return out;
}

using strings = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(terminal)

// Bytes as bash 5.2 writes them: bracketed paste on around each line it reads, "\b\e[K" for a
// backspace.
BOOST_AUTO_TEST_CASE(backspace_is_applied_with_input_events) {
    recording r;
    r.out(0.1, "\x1b[?2004h$ ")
        .in(1.0, "ech")
        .out(1.001, "ech")
        .in(1.2, "\x7f")
        .out(1.201, "\b\x1b[K")
        .in(1.5, "ho hi\r")
        .out(1.501, "ho hi\r\n\x1b[?2004l\r")
        .out(1.51, "hi\r\n\x1b[?2004h$ ");
    auto found = of_type(r.records(), "command");
    BOOST_TEST_REQUIRE(found.size() == 1u);
    BOOST_TEST(found[0].text == "echo hi");
    // Entered when Enter was typed; from the first keystroke's event to Enter's.
    BOOST_TEST(found[0].start == at(1.5));
    BOOST_TEST(found[0].end == at(1.5));
    BOOST_TEST(found[0].record_id.at("begin") == 1);
    BOOST_TEST(found[0].record_id.at("end") == 5);
    BOOST_TEST(found[0].record_id.at("for_screenshot") == 5);
}

BOOST_AUTO_TEST_CASE(backspace_is_applied_without_input_events) {
    recording r;
    // The prompt may come a while after bracketed paste is turned on.
    r.out(0, "\x1b[?2004h")
        .out(0.1, "$ ")
        .out(1.001, "ech")
        .out(1.201, "\b\x1b[K")
        .out(1.501, "ho hi\r\n\x1b[?2004l\r")
        .out(1.51, "hi\r\n\x1b[?2004h$ ");
    auto found = of_type(r.records(), "command");
    BOOST_TEST_REQUIRE(found.size() == 1u);
    BOOST_TEST(found[0].text == "echo hi");
    BOOST_TEST(found[0].start == at(1.501));
    BOOST_TEST(found[0].record_id.at("begin") == 1);
    BOOST_TEST(found[0].record_id.at("end") == 4);
}

BOOST_AUTO_TEST_CASE(the_prompt_is_stripped_as_it_changes) {
    recording r(30, 10);
    r.out(0, "\x1b[?2004halice@web1:~$ ")
        .in(1, "cd /tmp\r")
        .out(1.001, "cd /tmp\r\n\x1b[?2004l\r\x1b[?2004halice@web1:/tmp$ ")
        // A leading space is part of what was typed.
        .in(2, " ls -l\r")
        .out(2.001, " ls -l\r\n\x1b[?2004l\rnotes\r\n\x1b[?2004halice@web1:/tmp$ ")
        // Longer than the row: it wraps onto the next one.
        .in(3, "echo 0123456789abcdef\r")
        .out(3.001, "echo 0123456789abcdef\r\n\x1b[?2004l\r0123456789abcdef\r\n")
        .out(3.002, "\x1b[?2004halice@web1:/tmp$ ")
        // An empty line is no command.
        .in(4, "\r")
        .out(4.001, "\r\n\x1b[?2004l\r\x1b[?2004halice@web1:/tmp$ ");
    strings expected{"cd /tmp", " ls -l", "echo 0123456789abcdef"};
    BOOST_TEST(commands(r) == expected, boost::test_tools::per_element());
    BOOST_TEST(commands(r.output_only()) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(completion_lists_and_interrupted_lines_are_not_commands) {
    recording r;
    r.out(0, "\x1b[?2004h$ ")
        .in(0.9, "ls /e")
        .out(1, "ls /e")
        .in(1.4, "\t\t")
        .out(1.5, "\r\netc/  exports/\r\n$ ls /e")
        .in(1.9, "tc")
        .out(2, "tc")
        .in(2.4, "\x03")
        .out(2.5, "^C")
        .out(2.501, "\x1b[?2004l\r\x1b[?2004h\x1b[?2004l\r\r\n\x1b[?2004h$ ")
        .in(2.9, "ls /etc")
        .out(3, "ls /etc")
        .in(3.4, "\r")
        .out(3.5, "\r\n\x1b[?2004l\r");
    BOOST_TEST(commands(r) == strings{"ls /etc"}, boost::test_tools::per_element());
    BOOST_TEST(commands(r.output_only()) == strings{"ls /etc"}, boost::test_tools::per_element());
}

// Shells without bracketed paste (bash before 5.1, dash): every line may be a prompt line.
BOOST_AUTO_TEST_CASE(shells_without_bracketed_paste) {
    recording r;
    r.out(0, "$ ")
        .in(1, "ls\r")
        .out(1.2, "ls\r\nfile\r\n$ ")
        .in(2, "sleep 2\r")
        .out(2.2, "sleep 2\r\n")
        .out(4.2, "done\r\n$ ")
        .in(5, "pwd")
        .out(5.001, "pwd")
        .in(5.5, "\r")
        .out(5.501, "\r\n/tmp\r\n$ ");
    strings expected{"ls", "sleep 2", "pwd"};
    BOOST_TEST(commands(r) == expected, boost::test_tools::per_element());
    // Without input events, "done" printed after a pause on an empty row is no command.
    BOOST_TEST(commands(r.output_only()) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_full_screen_program_shows_screen_text_and_no_commands) {
    recording r;
    r.out(0, "\x1b[?2004h$ ")
        .in(0.5, "less notes\r")
        .out(0.501, "less notes\r\n\x1b[?2004l\r")
        .out(0.6,
             "\x1b[?1049h\x1b[H\x1b[2Jsecret plan line 1\r\nsecret plan line 2\r\n"
             "\x1b[7mnotes (END)\x1b[27m")
        .in(2.0, "/plan\r")
        .out(2.001, "\r\x1b[K/plan\r\x1b[K\x1b[7mnotes (END)\x1b[27m")
        .in(3.0, "q")
        .out(3.001, "\r\x1b[K\x1b[?1049l")
        .out(3.01, "\x1b[?2004h$ ")
        .out(5.0, "");
    for (auto& rec : {r, r.output_only()}) {
        auto records = rec.records();
        auto cmds = of_type(records, "command");
        BOOST_TEST_REQUIRE(cmds.size() == 1u);
        BOOST_TEST(cmds[0].text == "less notes");
        auto screens = of_type(records, "screen");
        auto page = std::find_if(screens.begin(), screens.end(),
                                 [](auto& s) { return s.text.starts_with("secret plan line 1"); });
        BOOST_TEST_REQUIRE((page != screens.end()));
        // The status line was rewritten in place to the same text: it stayed.
        BOOST_TEST(page->text == "secret plan line 1\nsecret plan line 2\nnotes (END)");
        BOOST_TEST(page->start == at(0.6));
        BOOST_TEST(page->end == at(3.001));
        // The shell's screen came back when less ended.
        auto back = std::find_if(screens.begin(), screens.end(),
                                 [](auto& s) { return s.text == "$ less notes"; });
        BOOST_TEST_REQUIRE((back != screens.end()));
        BOOST_TEST(back->start == at(3.001));
        BOOST_TEST(back->end == at(5.0));
    }
}

BOOST_AUTO_TEST_CASE(screen_text_is_kept_after_one_second) {
    recording r(20, 4);
    r.out(0, "brief")
        .out(0.5, "\x1b[H\x1b[2Jgone soon\r\nalpha\r\nbeta")
        .out(1.0, "\r\nthird")
        // Scrolls: "gone soon" leaves after 0.7 s, the others move up and stay.
        .out(1.2, "\r\nfourth")
        .out(2.2, "\x1b[H\x1b[2J")
        .out(3.5, "");
    auto screens = of_type(r.records(), "screen");
    BOOST_TEST_REQUIRE(screens.size() == 3u);
    BOOST_TEST(screens[0].text == "alpha\nbeta");
    BOOST_TEST(screens[0].start == at(0.5));
    BOOST_TEST(screens[0].end == at(2.2));
    BOOST_TEST(screens[0].record_id.at("begin") == 1);
    BOOST_TEST(screens[0].record_id.at("end") == 4);
    BOOST_TEST(screens[1].text == "third");
    BOOST_TEST(screens[1].start == at(1.0));
    BOOST_TEST(screens[2].text == "fourth");
    BOOST_TEST(screens[2].start == at(1.2));
    BOOST_TEST(screens[2].end == at(2.2));
}

BOOST_AUTO_TEST_CASE(exactly_one_second_is_enough) {
    recording r(20, 4);
    r.out(0, "long enough").out(1.0, "\x1b[2K\rtoo short").out(1.999, "\x1b[2K\r").out(3, "");
    auto screens = of_type(r.records(), "screen");
    BOOST_TEST_REQUIRE(screens.size() == 1u);
    BOOST_TEST(screens[0].text == "long enough");
}

BOOST_AUTO_TEST_CASE(window_titles) {
    recording r;
    r.out(0, "\x1b]0;alice@web1: ~\x07$ ")
        .out(1, "\x1b]0;alice@web1: ~\x07$ ")
        .out(2, "\x1b]0;vim notes\x07")
        .out(3, "");
    auto titles = of_type(r.records(), "window_title");
    BOOST_TEST_REQUIRE(titles.size() == 2u);
    BOOST_TEST(titles[0].text == "alice@web1: ~");
    BOOST_TEST(titles[0].start == at(0));
    BOOST_TEST(titles[0].end == at(2));
    BOOST_TEST(titles[1].text == "vim notes");
    BOOST_TEST(titles[1].end == at(3));
}

BOOST_AUTO_TEST_SUITE_END()
