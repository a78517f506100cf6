// The asciicast v2 reader: headers and events as `asciinema rec` writes them, and the errors of
// files that are not such recordings.
#include "ingest/asciicast.hpp"

#include <boost/test/unit_test.hpp>

#include <sstream>

namespace {

using namespace audex;

ingest::asciicast read(const std::string& text) {
    std::istringstream in(text);
    return ingest::read_asciicast(in, "rec.cast");
}

// The message of the error that reading `text` gives.
std::string error_of(const std::string& text) {
    try {
        read(text);
    } catch (const ingest::asciicast_error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(asciicast)

BOOST_AUTO_TEST_CASE(reads_header_and_events) {
    auto cast = read(
        R"({"version": 2, "width": 100, "height": 30, "timestamp": 1700000000, "command": "bash -i", "env": {"TERM": "screen"}})"
        "\n"
        R"([0.126369, "o", "\u001b[?2004haudex$ "])"
        "\n\n"
        R"([0.863214, "i", "ls\r"])"
        "\n"
        R"([1.5, "r", "80x24"])"
        "\n"
        R"([2.25, "o", "caf\u00e9\r\n"])"
        "\n");
    BOOST_TEST(cast.width == 100);
    BOOST_TEST(cast.height == 30);
    BOOST_TEST(cast.started == 1700000000'000000);
    BOOST_TEST(cast.command == "bash -i");
    BOOST_TEST_REQUIRE(cast.events.size() == 4u);
    BOOST_TEST(cast.events[0].data == "\x1b[?2004haudex$ ");
    BOOST_TEST(cast.events[1].code == 'i');
    BOOST_TEST(cast.events[1].data == "ls\r");
    BOOST_TEST(cast.events[2].code == 'r');
    BOOST_TEST(cast.events[3].data == "caf\xc3\xa9\r\n");
    BOOST_TEST(cast.finished() == 1700000002'250000);
}

BOOST_AUTO_TEST_CASE(a_recording_without_events_ends_when_it_starts) {
    auto cast = read(R"({"version": 2, "width": 80, "height": 24, "timestamp": 1700000000.5})");
    BOOST_TEST(cast.events.empty());
    BOOST_TEST(cast.finished() == 1700000000'500000);
}

BOOST_AUTO_TEST_CASE(rejects_what_is_not_asciicast_v2) {
    const std::string header = R"({"version": 2, "width": 80, "height": 24, "timestamp": 1})";
    BOOST_TEST(error_of("") == "rec.cast: empty file, not an asciicast v2 recording");
    BOOST_TEST(error_of("hello world\n") == "rec.cast:1: not JSON (syntax error)");
    // asciicast v1: one JSON document with every frame inside.
    BOOST_TEST(error_of(R"({"version": 1, "width": 80, "height": 24, "stdout": [[0.1, "x"]]})") ==
               "rec.cast:1: not an asciicast v2 header (a JSON object with \"version\": 2)");
    BOOST_TEST(error_of(R"([0.1, "o", "x"])") ==
               "rec.cast:1: not an asciicast v2 header (a JSON object with \"version\": 2)");
    BOOST_TEST(error_of(R"({"version": 2, "height": 24, "timestamp": 1})") ==
               "rec.cast:1: the header's width must be a whole number from 1 to 1000");
    BOOST_TEST(error_of(R"({"version": 2, "width": 80, "height": 0, "timestamp": 1})") ==
               "rec.cast:1: the header's height must be a whole number from 1 to 1000");
    BOOST_TEST(error_of(R"({"version": 2, "width": 80, "height": 24})") ==
               "rec.cast:1: the header has no timestamp (Unix seconds): the session needs a start");
    BOOST_TEST(error_of(header + "\n[0.1, \"o\"]\n") ==
               "rec.cast:2: not an asciicast v2 event [time, code, data]");
    BOOST_TEST(error_of(header + "\n[\"0.1\", \"o\", \"x\"]\n") ==
               "rec.cast:2: not an asciicast v2 event [time, code, data]");
    BOOST_TEST(error_of(header + "\n[0.1, \"out\", \"x\"]\n") ==
               "rec.cast:2: not an asciicast v2 event [time, code, data]");
    BOOST_TEST(error_of(header + "\n[0.5, \"o\", \"x\"]\n[0.4, \"o\", \"y\"]\n") ==
               "rec.cast:3: event times must be finite and never decrease");
    BOOST_TEST(error_of(header + "\n[0.5, \"o\", \"x\"]\n{\"version\": 2}\n") ==
               "rec.cast:3: not an asciicast v2 event [time, code, data]");
}

BOOST_AUTO_TEST_SUITE_END()
