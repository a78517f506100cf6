// Tests of api/request.hpp: the media-type check of request bodies and JSON body parsing into
// MalformedBody errors with details.line and details.position.
#include "api/request.hpp"

#include "audex/error.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace json = boost::json;
using audex::api_exception;
using audex::error_type;
namespace bhttp = boost::beast::http;

namespace {

// The error parse_json throws for `text`, or nullopt when it parses.
std::optional<audex::api_error> json_error(std::string_view text) {
    try {
        audex::api::parse_json(text);
        return std::nullopt;
    } catch (const api_exception& e) {
        return e.error;
    }
}

audex::http::request request_with(std::optional<std::string> content_type, std::string body) {
    audex::http::request req{bhttp::verb::post, "/api/v2/session", 11};
    if (content_type) req.set(bhttp::field::content_type, *content_type);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
}

// An integer member of an error's details.
long detail(const audex::api_error& e, std::string_view key) {
    return e.details.at(key).to_number<long>();
}

struct valid_case {
    std::string_view text, canonical;
};
std::ostream& operator<<(std::ostream& os, const valid_case& c) {
    return os << c.text;
}

const valid_case valid_cases[] = {
    {R"({"a": 1})", R"({"a":1})"},
    {"  [1, 2]  \n", "[1,2]"},
    {"\r\n\t{}\r\n", "{}"},
    {"12", "12"},
    {"-0.5", "-5E-1"},
    {"\"text\"", "\"text\""},
    {"null", "null"},
    {"true", "true"},
    {R"({"nested": {"a": [1, {"b": null}]}})", R"({"nested":{"a":[1,{"b":null}]}})"},
    {R"("caf\u00e9 \u65e5")", "\"caf\xc3\xa9 \xe6\x97\xa5\""},
};

// A malformed text, and where its error is: 1-based line and 0-based byte offset.
struct malformed_case {
    std::string_view text;
    long line;
    std::size_t position;
};
std::ostream& operator<<(std::ostream& os, const malformed_case& c) {
    return os << c.text;
}

const malformed_case malformed_cases[] = {
    {"{\n  \"protocol\": \"ssh\",\n  oops\n}", 3, 25},
    {"{", 1, 1},             // incomplete: the error is at the end
    {"[1,", 1, 3},           // incomplete
    {"{\"a\": 1,\n", 2, 9},  // incomplete, after a newline
    {"[1,]", 1, 3},
    {"nul", 1, 3},
    {"{\"a\" 1}", 1, 5},
    {"{'a': 1}", 1, 1},
    {"[1] x", 1, 4},               // trailing characters: where they start
    {"{\"a\": 1}\n\n  x", 3, 12},  // trailing characters on a later line
    {"{\"protocol\": \"ssh\"} trailing", 1, 20},
    {"1 2", 1, 2},
    {"{} {}", 1, 3},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(api_request)

BOOST_DATA_TEST_CASE(parses_json, boost::unit_test::data::make(valid_cases), c) {
    auto err = json_error(c.text);
    BOOST_TEST_REQUIRE(!err.has_value(), (err ? err->message : ""));
    BOOST_TEST(json::serialize(audex::api::parse_json(c.text)) == c.canonical);
}

BOOST_DATA_TEST_CASE(reports_malformed_json, boost::unit_test::data::make(malformed_cases), c) {
    auto err = json_error(c.text);
    BOOST_TEST_REQUIRE(err.has_value());
    BOOST_TEST((err->type == error_type::malformed_body));
    BOOST_TEST(detail(*err, "line") == c.line);
    BOOST_TEST(detail(*err, "position") == long(c.position));
    BOOST_TEST(!err->message.empty());
}

BOOST_AUTO_TEST_CASE(bad_bytes_and_depth) {
    for (std::string_view text : {std::string_view("{\"a\": \"\x01\"}"),
                                  std::string_view("\xff\xfe"), std::string_view("\"\xc3\"")}) {
        auto err = json_error(text);
        BOOST_TEST_REQUIRE(err.has_value());
        BOOST_TEST((err->type == error_type::malformed_body));
        BOOST_TEST(err->details.contains("line"));
        BOOST_TEST(err->details.contains("position"));
    }
    // 64 levels are allowed, more are refused.
    BOOST_TEST(!json_error(std::string(64, '[') + std::string(64, ']')).has_value());
    auto deep = json_error(std::string(1000, '[') + std::string(1000, ']'));
    BOOST_TEST_REQUIRE(deep.has_value());
    BOOST_TEST((deep->type == error_type::malformed_body));
}

BOOST_AUTO_TEST_CASE(body_parsing) {
    auto v = audex::api::parse_json_body(R"({"a": [1]})");
    BOOST_TEST(json::serialize(v) == R"({"a":[1]})");
    try {
        audex::api::parse_json_body("");
        BOOST_FAIL("an empty body was accepted");
    } catch (const api_exception& e) {
        BOOST_TEST((e.error.type == error_type::malformed_body));
        BOOST_TEST(e.error.details.at("line").to_number<long>() == 1);
        BOOST_TEST(e.error.details.at("position").to_number<long>() == 0);
    }
    BOOST_CHECK_THROW(audex::api::parse_json_body("{"), api_exception);
}

BOOST_AUTO_TEST_CASE(content_types) {
    using audex::api::check_content_type;
    BOOST_TEST(!check_content_type(request_with("application/json", "{}")));
    BOOST_TEST(!check_content_type(request_with("application/json; charset=utf-8", "{}")));
    BOOST_TEST(!check_content_type(request_with("Application/JSON", "{}")));
    BOOST_TEST(!check_content_type(request_with("application/json ;charset=utf-8", "{}")));
    BOOST_TEST(!check_content_type(request_with("application/json", "{}"), true));
    BOOST_TEST(check_content_type(request_with("application/x-ndjson", "{}"), true));
    BOOST_TEST(check_content_type(request_with("application/x-ndjson; charset=utf-8", "{}"), true));

    for (auto [type, ndjson] : {std::pair<std::optional<std::string>, bool>{"text/plain", false},
                                {"application/x-ndjson", false},
                                {"application/jsonx", true},
                                {"", false},
                                {std::nullopt, false},
                                {"text/plain", true}}) {
        try {
            check_content_type(request_with(type, "{}"), ndjson);
            BOOST_ERROR("accepted " << type.value_or("<none>"));
        } catch (const api_exception& e) {
            BOOST_TEST((e.error.type == error_type::unsupported_media_type));
            BOOST_TEST(audex::error_status(e.error.type) == 415u);
            BOOST_TEST(std::string_view(e.error.details.at("content_type").as_string()) ==
                       type.value_or(""));
            BOOST_TEST((e.error.message.find("x-ndjson") != std::string::npos) == ndjson);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
