// Tests of api/content_body.hpp: ingestion bodies (JSON arrays and NDJSON) read into content
// records, their errors, and random records written by Boost.JSON read back unchanged.
#include "api/content_body.hpp"

#include "api/request.hpp"
#include "audex/error.hpp"

#include <boost/json/serialize.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <ostream>
#include <random>
#include <string>

namespace json = boost::json;
using audex::api_exception;
using audex::error_type;
using audex::api::parse_content;

namespace {

const std::string start = R"("start_time": "2020-01-01T00:00:00Z")";

std::string record(const std::string& members) {
    return "{" + members + (members.empty() ? "" : ", ") + start + "}";
}
const std::string good = record(R"("type": "command", "text": "ls")");

std::optional<audex::api_error> content_error(const std::string& body, bool ndjson) {
    try {
        parse_content(body, ndjson);
        return std::nullopt;
    } catch (const api_exception& e) {
        return e.error;
    }
}

struct bad_body {
    std::string body;
    bool ndjson;
    error_type type;
    std::string field;  // of an InvalidArgument; of a MalformedBody, its line
};

std::ostream& operator<<(std::ostream& os, const bad_body& c) {
    return os << (c.ndjson ? "ndjson " : "json ") << c.body;
}

const bad_body bad_bodies[] = {
    {R"({"type": "command"})", false, error_type::invalid_argument, "body"},
    {"[1]", false, error_type::invalid_argument, "0"},
    {"[" + good + ", []]", false, error_type::invalid_argument, "1"},
    {"[" + record(R"("text": "ls")") + "]", false, error_type::invalid_argument, "0.type"},
    {"[" + record(R"("type": "shell", "text": "ls")") + "]", false, error_type::invalid_argument,
     "0.type"},
    {"[" + record(R"("type": "command")") + "]", false, error_type::invalid_argument, "0.text"},
    {"[" + record(R"("type": "command", "text": 5)") + "]", false, error_type::invalid_argument,
     "0.text"},
    {R"([{"type": "command", "text": "ls"}])", false, error_type::invalid_argument, "0.start_time"},
    {R"([{"type": "command", "text": "ls", "start_time": "yesterday"}])", false,
     error_type::invalid_argument, "0.start_time"},
    {"[" + record(R"("type": "command", "text": "ls", "end_time": "2019-01-01T00:00:00Z")") + "]",
     false, error_type::invalid_argument, "0.end_time"},
    {"[" + record(R"("type": "command", "text": "ls", "colour": "red")") + "]", false,
     error_type::invalid_argument, "0.colour"},
    {"[" + record(R"("type": "command", "text": "ls", "channel_id": 1.5)") + "]", false,
     error_type::invalid_argument, "0.channel_id"},
    {"[" + record(R"("type": "command", "text": "ls", "channel_id": 9223372036854775808)") + "]",
     false, error_type::invalid_argument, "0.channel_id"},
    {"[" + record(R"("type": "command", "text": "ls", "record_id": 5)") + "]", false,
     error_type::invalid_argument, "0.record_id"},
    {"[" + record(R"("type": "command", "text": "ls", "record_id": {"begin": "1"})") + "]", false,
     error_type::invalid_argument, "0.record_id"},
    {"[" + record(R"("type": "command", "text": "ls", "record_id": {"start": 1})") + "]", false,
     error_type::invalid_argument, "0.record_id"},
    // Malformed JSON anywhere comes before the records' own errors.
    {"", false, error_type::malformed_body, "1"},
    {"[", false, error_type::malformed_body, "1"},
    {"[" + good + ",]", false, error_type::malformed_body, "1"},
    {"[" + good + "] x", false, error_type::malformed_body, "1"},
    {"[" + good + "]\n[]", false, error_type::malformed_body, "2"},
    {R"([{"type": 5},)"
     "\n"
     "{",
     false, error_type::malformed_body, "2"},
    {"[" + record(R"("type": "command", "text": "\xff")") + "]", false, error_type::malformed_body,
     "1"},
    {"[" + record(R"("type": "command", "text": "\q")") + "]", false, error_type::malformed_body,
     "1"},
    {"[" + record(R"("type": "command", "text": tru)") + "]", false, error_type::malformed_body,
     "1"},
    {std::string(100000, '[') + std::string(100000, ']'), false, error_type::malformed_body, "1"},
    // NDJSON: one record a line.
    {good + "\n[" + good + "]", true, error_type::invalid_argument, "1"},
    {"\n" + good + "\n\n" + record(R"("type": "command", "x": 1)"), true,
     error_type::invalid_argument, "1.x"},
    {good + "\n{", true, error_type::malformed_body, "2"},
    {record(R"("type": "command")") + "\n\n{", true, error_type::malformed_body, "3"},
    {good + " " + good, true, error_type::malformed_body, "1"},
    {good + "\n" + good + " 1", true, error_type::malformed_body, "2"},
    {"\"" + std::string(10, 'a'), true, error_type::malformed_body, "1"},
    {std::string(100000, '['), true, error_type::malformed_body, "1"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(content_body)

BOOST_AUTO_TEST_CASE(every_attribute) {
    auto records = parse_content(
        R"([{"type": "screen", "text": "caf\u00e9\n\"quoted\" \\ tab\t", "channel_id": -3,
             "start_time": "2020-01-01T00:00:01Z", "end_time": "2020-01-01T00:00:02.5Z",
             "record_id": {"begin": 1, "end": 2, "for_screenshot": 1}},
            {"text": "first", "type": "window_title", "start_time": "2020-01-01T00:00:03Z",
             "text": "second"}])",
        false);
    BOOST_TEST_REQUIRE(records.size() == 2u);
    auto& a = records[0];
    BOOST_TEST(a.type == "screen");
    BOOST_TEST(a.text == "caf\xc3\xa9\n\"quoted\" \\ tab\t");
    BOOST_TEST(a.channel == -3);
    BOOST_TEST(a.start == 1577836801000000);
    BOOST_TEST(a.end == 1577836802500000);
    BOOST_TEST(json::serialize(a.record_id) == R"({"begin":1,"end":2,"for_screenshot":1})");
    auto& b = records[1];
    BOOST_TEST(b.type == "window_title");
    BOOST_TEST(b.text == "second");  // of a repeated attribute, the last
    BOOST_TEST(b.channel == 0);
    BOOST_TEST(b.end == b.start);
    BOOST_TEST(b.record_id.empty());
    BOOST_TEST(parse_content("[]", false).empty());
}

BOOST_AUTO_TEST_CASE(ndjson_lines) {
    auto records = parse_content(
        "\r\n" + good + "\r\n  \n" + record(R"("type": "screen", "text": "top")"), true);
    BOOST_TEST_REQUIRE(records.size() == 2u);
    BOOST_TEST(records[0].text == "ls");
    BOOST_TEST(records[1].type == "screen");
    BOOST_TEST(parse_content("", true).empty());
    BOOST_TEST(parse_content(" \n\t\n", true).empty());
}

BOOST_DATA_TEST_CASE(bad_bodies_are_refused, boost::unit_test::data::make(bad_bodies), c) {
    auto e = content_error(c.body, c.ndjson);
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST((e->type == c.type));
    if (c.type == error_type::invalid_argument) {
        BOOST_TEST(e->details.at("field").as_string() == c.field);
        return;
    }
    BOOST_TEST(json::serialize(e->details.at("line")) == c.field);
    // Malformed JSON is answered as every other route answers it.
    if (!c.ndjson) {
        try {
            audex::api::parse_json_body(c.body);
            BOOST_FAIL("parse_json_body took a malformed body");
        } catch (const api_exception& expected) {
            BOOST_TEST(json::serialize(e->details) == json::serialize(expected.error.details));
            BOOST_TEST(e->message == expected.error.message);
        }
    }
}

// Random records written by Boost.JSON (escapes, control characters, non-ASCII text, attributes
// in any order, optional ones left out) read back as they were, as a JSON array and as NDJSON.
BOOST_AUTO_TEST_CASE(random_records_read_back) {
    std::mt19937_64 random(20261206);
    auto pick = [&](std::size_t n) { return std::size_t(random() % n); };
    const char* pieces[] = {
        "a",    "Z",  "0",    " ",    "\"",       "\\",           "/",
        "\n",   "\t", "\x01", "\x1f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\x7f", "{",  "]"};
    const char* types[] = {"command", "screen", "window_title"};
    for (int round = 0; round < 200; ++round) {
        std::vector<json::object> expected;
        std::string array_body, ndjson_body;
        json::array all;
        for (std::size_t n = pick(20); n > 0; --n) {
            std::string text;
            for (std::size_t k = pick(40); k > 0; --k)
                text += pieces[pick(std::size(pieces))];
            std::vector<std::pair<std::string, json::value>> members = {
                {"type", json::string(types[pick(3)])},
                {"text", json::string(text)},
                {"start_time", "2021-02-03T04:05:06.123456Z"}};
            if (pick(2)) members.emplace_back("end_time", "2021-02-03T04:05:07Z");
            if (pick(2)) members.emplace_back("channel_id", std::int64_t(random()));
            if (pick(2))
                members.emplace_back("record_id",
                                     json::object{{"begin", std::int64_t(pick(1000))},
                                                  {"end", std::int64_t(pick(1000) + 1000)}});
            std::shuffle(members.begin(), members.end(), random);
            json::object o;
            for (auto& [key, value] : members)
                o[key] = value;
            ndjson_body += json::serialize(o) + (pick(2) ? "\n" : "\r\n\n");
            all.push_back(o);
            expected.push_back(std::move(o));
        }
        array_body = json::serialize(all);
        for (auto [body, ndjson] : {std::pair{&array_body, false}, std::pair{&ndjson_body, true}}) {
            auto records = parse_content(*body, ndjson);
            BOOST_TEST_REQUIRE(records.size() == expected.size());
            for (std::size_t i = 0; i < records.size(); ++i) {
                auto& r = records[i];
                auto& o = expected[i];
                BOOST_TEST(r.type == o.at("type").as_string());
                BOOST_TEST(r.text == o.at("text").as_string());
                BOOST_TEST(r.start == 1612325106123456);
                BOOST_TEST(r.end == (o.contains("end_time") ? 1612325107000000 : r.start));
                BOOST_TEST(r.channel ==
                           (o.contains("channel_id") ? o.at("channel_id").as_int64() : 0));
                BOOST_TEST((o.contains("record_id") ? r.record_id == o.at("record_id").as_object()
                                                    : r.record_id.empty()));
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
