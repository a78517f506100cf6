// Tests of store/object_filter.hpp: a table of filters over hand-made stored sessions (strings,
// numbers, booleans, date spans, ranges, IPs, ids, wildcards, fuzzy, _exists_, boolean logic),
// the attributes a filter names, and the errors of unknown attributes and ill-typed values.
#include "store/object_filter.hpp"

#include "core/query.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <string_view>

using audex::error_type;
using audex::model;
using audex::store::object_filter;
namespace json = boost::json;
namespace query = audex::query;

namespace {

const model& session_model() {
    static const model& m = *audex::find_model("session");
    return m;
}

audex::result<object_filter> compile(std::string_view text, const model& m = session_model()) {
    auto parsed = query::parse(text);
    auto* node = std::get_if<query::node>(&parsed);
    BOOST_TEST_REQUIRE(node != nullptr, "the parser rejected " << text);
    return object_filter::compile(m, *node);
}

bool matches(const object_filter& f, const json::object& o) {
    return f.matches(
        [&](const audex::attribute& a) -> const json::value* { return o.if_contains(a.name); });
}

// Stored sessions (date-times as microseconds). 2022-04-05T00:00:00Z is 1649116800000000.
const std::map<std::string, json::object>& objects() {
    static const std::map<std::string, json::object> all = [] {
        std::map<std::string, json::object> out;
        auto add = [&](std::string name, std::string_view text) {
            out.emplace(std::move(name), json::parse(text).as_object());
        };
        add("s1", R"({"protocol": "ssh", "source_port": 22, "source_ip": "10.0.0.2",
                      "started_at": 1649152800000000, "paused": true,
                      "user_name": "Alice Smith", "command": "ls -la", "user_id": "42",
                      "activity": 12.5, "destination_ip": "192.168.1.1"})");
        // the last microsecond of 2022-04-05
        add("s2", R"({"protocol": "rdp", "source_port": 3389, "source_ip": "10.0.0.10",
                      "started_at": 1649203199999999, "paused": false, "user_name": "bob",
                      "user_id": "7", "activity": 3, "destination_ip": null})");
        // the first microsecond of 2022-04-06
        add("s3", R"({"protocol": "telnet", "source_port": 23, "source_ip": "10.0.0.9",
                      "started_at": 1649203200000000, "user_name": "ALICE",
                      "user_id": "100", "destination_ip": "2001:db8::1"})");
        // 1969-12-31T12:00:00Z
        add("s4", R"({"protocol": "ssh", "source_ip": "10.0.0.100",
                      "started_at": -43200000000, "command": "ls*"})");
        // the last microsecond of 2022-04-04
        add("s5", R"({"protocol": "vnc", "started_at": 1649116799999999,
                      "destination_ip": "::ffff:192.168.1.1"})");
        return out;
    }();
    return all;
}

struct match_case {
    std::string_view filter;
    std::string_view expected;  // names of the matching objects, blank-separated
};

std::ostream& operator<<(std::ostream& os, const match_case& c) {
    return os << c.filter;
}

const match_case match_cases[] = {
    // keywords: equal without regard to case
    {"protocol:ssh", "s1 s4"},
    {"protocol:SSH", "s1 s4"},
    {"protocol:ftp", ""},
    {"user_name:alice", "s3"},
    {"user_name:\"alice smith\"", "s1"},
    {"user_name:\"ALICE SMITH\"", "s1"},
    {"command:\"ls -la\"", "s1"},
    // numbers
    {"source_port:22", "s1"},
    {"source_port:22.0", "s1"},
    {"source_port:022", "s1"},
    {"source_port:2", ""},
    {"activity:12.5", "s1"},
    {"activity:3", "s2"},
    {"activity:>3", "s1"},
    // booleans
    {"paused:true", "s1"},
    {"paused:FALSE", "s2"},
    // ids compare as numbers
    {"user_id:42", "s1"},
    {"user_id:042", "s1"},
    {"user_id:[10 TO 100]", "s1 s3"},
    {"user_id:{7 TO 100}", "s1"},
    // numeric ranges
    {"source_port:[22 TO 23]", "s1 s3"},
    {"source_port:{22 TO 23]", "s3"},
    {"source_port:[22 TO 23}", "s1"},
    {"source_port:{22 TO 23}", ""},
    {"source_port:[23 TO *]", "s2 s3"},
    {"source_port:>=23", "s2 s3"},
    {"source_port:>23", "s2"},
    {"source_port:<23", "s1"},
    {"source_port:<=23", "s1 s3"},
    {"source_port:[* TO *]", "s1 s2 s3"},
    {"source_port:[-5 TO 22.5]", "s1"},
    {"source_port:+22", "s1"},
    {"source_port:2.2e1", "s1"},
    {"activity:1.25E1", "s1"},
    {"source_port:[100 TO 10]", ""},
    // a date names its whole day
    {"started_at:2022-04-05", "s1 s2"},
    {"started_at:2022-04-06", "s3"},
    {"started_at:2022-04-04", "s5"},
    {"started_at:1969-12-31", "s4"},
    {"started_at:1970-01-01", ""},
    // a minute, a second, a fraction, an instant with an offset
    {"started_at:2022-04-05T10:00", "s1"},
    {"started_at:2022-04-05T10:01", ""},
    {"started_at:2022-04-05T23:59:59", "s2"},
    {"started_at:2022-04-05T23:59:59.999999", "s2"},
    {"started_at:2022-04-05T23:59:59.99999", "s2"},
    {"started_at:2022-04-05T23:59:59.999998", ""},
    {"started_at:\"2022-04-05 10:00:00\"", "s1"},
    {"started_at:\"2022-04-05 12:00:00+02\"", "s1"},
    {"started_at:\"2022-04-05 12:00:00+02:00\"", "s1"},
    {"started_at:\"2022-04-05 10:00:00.000001\"", ""},
    // date ranges: inclusive upper bounds take the whole span, exclusive lower bounds skip it
    {"started_at:[2022-04-05 TO 2022-04-05]", "s1 s2"},
    {"started_at:{2022-04-04 TO 2022-04-06}", "s1 s2"},
    {"started_at:[2022-04-04 TO 2022-04-06}", "s1 s2 s5"},
    {"started_at:{2022-04-04 TO 2022-04-06]", "s1 s2 s3"},
    {"started_at:[2022-04-05 TO *]", "s1 s2 s3"},
    {"started_at:{2022-04-05 TO *]", "s3"},
    {"started_at:[* TO 2022-04-05]", "s1 s2 s4 s5"},
    {"started_at:[* TO 2022-04-05}", "s4 s5"},
    {"started_at:>2022-04-05", "s3"},
    {"started_at:>=2022-04-05", "s1 s2 s3"},
    {"started_at:<2022-04-05", "s4 s5"},
    {"started_at:<=2022-04-05", "s1 s2 s4 s5"},
    {"started_at:[2022-04-05T10:00 TO 2022-04-05T10:00]", "s1"},
    {"started_at:{2022-04-05T10:00 TO *]", "s2 s3"},
    {"started_at:[2022-04-05T10:00:00 TO 2022-04-05T23:59:59}", "s1"},
    {"started_at:[2022-04-05T10:00:00 TO 2022-04-05T23:59:59]", "s1 s2"},
    {"started_at:[2022-04-05T23:59:59.999999 TO 2022-04-06T00:00:00]", "s2 s3"},
    {"started_at:{2022-04-05T23:59:59.999999 TO 2022-04-06T00:00:00]", "s3"},
    {"started_at:[\"2022-04-05 12:00+02\" TO \"2022-04-05 12:00+02\"]", "s1"},
    {"started_at:[1969-01-01 TO 1970-01-01}", "s4"},
    {"started_at:[* TO *]", "s1 s2 s3 s4 s5"},
    // IP addresses: equal as addresses, ordered numerically
    {"source_ip:10.0.0.2", "s1"},
    {"source_ip:\"::ffff:10.0.0.2\"", "s1"},
    {"source_ip:[10.0.0.1 TO 10.0.0.10]", "s1 s2 s3"},
    {"source_ip:[10.0.0.3 TO 10.0.0.9]", "s3"},
    {"source_ip:{10.0.0.9 TO *]", "s2 s4"},
    {"source_ip:10.0.0.1*", "s2 s4"},  // wildcards read addresses as written
    {"source_ip:10.0.0.?", "s1 s3"},
    {"source_ip:[10.0.0.0 TO 10.0.0.255]", "s1 s2 s3 s4"},
    {"source_ip:[10.0.0.10 TO 10.0.0.10]", "s2"},
    {"source_ip:<10.0.0.10", "s1 s3"},
    {"destination_ip:192.168.1.1", "s1 s5"},  // IPv4 and its IPv6-mapped form
    {"destination_ip:\"2001:db8::1\"", "s3"},
    {"destination_ip:\"2001:0db8:0:0::1\"", "s3"},
    {"destination_ip:[\"2001:db8::\" TO \"2001:db8::ffff\"]", "s3"},
    {"destination_ip:[\"::\" TO 255.255.255.255]", "s1 s5"},
    {"_exists_:destination_ip", "s1 s3 s5"},  // null is unset
    // wildcards, without regard to case
    {"user_name:ali*", "s1 s3"},
    {"user_name:ALI*", "s1 s3"},
    {"user_name:alice*", "s1 s3"},
    {"user_name:a*h", "s1"},
    {"user_name:b?b", "s2"},
    {"user_name:b?", ""},
    {"user_name:b*b*", "s2"},
    {"command:ls*", "s1 s4"},
    {"command:ls\\*", "s4"},  // an escaped star is a star
    {"protocol:t*", "s3"},
    {"protocol:s?h", "s1 s4"},
    // fuzzy
    {"protocol:sssh~1", "s1 s4"},
    {"protocol:shh~1", "s1 s4"},
    {"protocol:sh~1", "s1 s4"},
    {"protocol:ssh~0", "s1 s4"},
    {"protocol:rpd~1", ""},  // a transposition is two edits
    {"protocol:rpd~2", "s2"},
    {"user_name:bobby~2", "s2"},
    {"user_name:bobby~1", ""},
    {"user_name:BOBB~", "s2"},
    // presence
    {"_exists_:source_port", "s1 s2 s3"},
    {"_exists_:user_name", "s1 s2 s3"},
    {"_exists_:finished_at", ""},
    {"NOT _exists_:source_port", "s4 s5"},
    // boolean logic
    {"protocol:ssh AND source_port:22", "s1"},
    {"protocol:ssh OR protocol:rdp", "s1 s2 s4"},
    {"protocol:ssh protocol:rdp", "s1 s2 s4"},
    {"protocol:ssh AND NOT source_port:22", "s4"},
    {"+protocol:ssh -source_port:22", "s4"},
    {"NOT protocol:ssh", "s2 s3 s5"},
    {"-protocol:ssh -protocol:rdp", "s3 s5"},
    {"NOT (protocol:ssh OR protocol:rdp)", "s3 s5"},
    {"(protocol:ssh OR protocol:telnet) AND started_at:[2022-04-05 TO *]", "s1 s3"},
    {"protocol:(ssh OR telnet)", "s1 s3 s4"},
    {"protocol:ssh AND (source_port:22 OR _exists_:command)", "s1 s4"},
    {"(NOT protocol:ssh) OR source_port:22", "s1 s2 s3 s5"},
    {"protocol:ssh AND protocol:rdp", ""},
    {"*:*", "s1 s2 s3 s4 s5"},
    {"*:* -protocol:ssh", "s2 s3 s5"},
    {"-*:*", ""},
    {"protocol:ssh^2", "s1 s4"},  // boosts change nothing here
};

std::set<std::string> names_of(std::string_view text) {
    std::set<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find(' ', pos);
        if (end == std::string_view::npos) end = text.size();
        if (end > pos) out.emplace(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

struct error_case {
    std::string_view filter;
    error_type type;
    std::string_view field;
};

std::ostream& operator<<(std::ostream& os, const error_case& c) {
    return os << c.filter;
}

const error_case error_cases[] = {
    // unknown or unfilterable attributes
    {"nosuch:1", error_type::invalid_argument, "nosuch"},
    {"Protocol:ssh", error_type::invalid_argument, "Protocol"},
    {"_exists_:nosuch", error_type::invalid_argument, "nosuch"},
    {"nosuch:[1 TO 2]", error_type::invalid_argument, "nosuch"},
    {"nosuch:a*", error_type::invalid_argument, "nosuch"},
    {"nosuch:abc~1", error_type::invalid_argument, "nosuch"},
    {"ml:x", error_type::invalid_argument, "ml"},
    {"protocol:ssh AND nosuch:1", error_type::invalid_argument, "nosuch"},
    {"NOT (protocol:ssh OR (nosuch:1))", error_type::invalid_argument, "nosuch"},
    // terms without an attribute
    {"ssh", error_type::invalid_argument, "filter"},
    {"\"a b\"", error_type::invalid_argument, "filter"},
    {"[1 TO 2]", error_type::invalid_argument, "filter"},
    {"protocol:ssh OR rdp", error_type::invalid_argument, "filter"},
    // values that do not fit the type
    {"source_port:abc", error_type::invalid_query_value, "source_port"},
    {"source_port:22abc", error_type::invalid_query_value, "source_port"},
    {"source_port:[1 TO x]", error_type::invalid_query_value, "source_port"},
    {"source_port:>x", error_type::invalid_query_value, "source_port"},
    {"activity:\"\"", error_type::invalid_query_value, "activity"},
    // strtod's extensions are not numbers here
    {"source_port:nan", error_type::invalid_query_value, "source_port"},
    {"source_port:inf", error_type::invalid_query_value, "source_port"},
    {"source_port:[1 TO infinity]", error_type::invalid_query_value, "source_port"},
    {"source_port:0x16", error_type::invalid_query_value, "source_port"},
    {"source_port:1e999", error_type::invalid_query_value, "source_port"},
    {"source_port:\" 22\"", error_type::invalid_query_value, "source_port"},
    {"started_at:2022-13-01", error_type::invalid_query_value, "started_at"},
    {"started_at:2022-02-30", error_type::invalid_query_value, "started_at"},
    {"started_at:yesterday", error_type::invalid_query_value, "started_at"},
    {"started_at:[2022-04-05 TO tomorrow]", error_type::invalid_query_value, "started_at"},
    {"source_ip:10.0.0.256", error_type::invalid_query_value, "source_ip"},
    {"source_ip:10.0.0.02", error_type::invalid_query_value, "source_ip"},
    {"source_ip:[10.0.0.1 TO host]", error_type::invalid_query_value, "source_ip"},
    {"paused:yes", error_type::invalid_query_value, "paused"},
    {"paused:1", error_type::invalid_query_value, "paused"},
    {"protocol:ssh OR source_port:x", error_type::invalid_query_value, "source_port"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_object_filter)

BOOST_DATA_TEST_CASE(matches_the_expected_objects, boost::unit_test::data::make(match_cases), c) {
    auto f = compile(c.filter);
    BOOST_TEST_REQUIRE(f.has_value(), (f ? "" : f.error().message));
    std::set<std::string> got;
    for (auto& [name, o] : objects())
        if (matches(*f, o)) got.insert(name);
    BOOST_TEST(got == names_of(c.expected), boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(rejects, boost::unit_test::data::make(error_cases), c) {
    auto f = compile(c.filter);
    BOOST_TEST_REQUIRE(!f.has_value());
    auto e = f.error();
    BOOST_TEST((e.type == c.type), audex::error_type_name(e.type) << ": " << e.message);
    auto field = e.details.if_contains("field");
    BOOST_TEST_REQUIRE(field != nullptr);
    BOOST_TEST(std::string_view(field->as_string()) == c.field);
    BOOST_TEST(!e.message.empty());
}

BOOST_AUTO_TEST_CASE(protected_attributes_cannot_be_filtered) {
    auto& users = *audex::find_model("user");
    auto f = compile("password:secret", users);
    BOOST_TEST_REQUIRE(!f.has_value());
    BOOST_TEST((f.error().type == error_type::invalid_argument));
    BOOST_TEST(f.error().details.at("field") == "password");
    BOOST_TEST(!compile("_exists_:password", users).has_value());
    BOOST_TEST(!compile("password:sec*", users).has_value());
    BOOST_TEST(compile("name:alice", users).has_value());
}

BOOST_AUTO_TEST_CASE(names_the_attributes_it_reads) {
    auto f = compile("protocol:ssh AND (user_name:bob OR NOT _exists_:server_name) AND *:*");
    BOOST_TEST_REQUIRE(f.has_value());
    std::set<std::string> want = {"protocol", "server_name", "user_name"};
    BOOST_TEST(f->attributes() == want, boost::test_tools::per_element());
    auto all = compile("*:*");
    BOOST_TEST_REQUIRE(all.has_value());
    BOOST_TEST(all->attributes().empty());
}

BOOST_AUTO_TEST_CASE(reads_only_through_the_source) {
    // The predicate asks the source for exactly the attributes it needs, and copes with values
    // of the wrong JSON type (a stored form the schema would not produce).
    auto f = compile("source_port:22 OR protocol:ssh");
    BOOST_TEST_REQUIRE(f.has_value());
    std::set<std::string> asked;
    json::object o{{"source_port", "22"}, {"protocol", 5}};
    bool matched = f->matches([&](const audex::attribute& a) -> const json::value* {
        asked.insert(a.name);
        return o.if_contains(a.name);
    });
    BOOST_TEST(!matched);
    std::set<std::string> want = {"protocol", "source_port"};
    BOOST_TEST(asked == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(integers_stored_unsigned_or_double) {
    auto f = compile("size:[10 TO 20]");
    BOOST_TEST_REQUIRE(f.has_value());
    BOOST_TEST(matches(*f, {{"size", std::uint64_t(15)}}));
    BOOST_TEST(matches(*f, {{"size", 10.0}}));
    BOOST_TEST(!matches(*f, {{"size", 20.5}}));
    BOOST_TEST(!matches(*f, {{"size", nullptr}}));
    BOOST_TEST(!matches(*f, {}));
}

BOOST_AUTO_TEST_SUITE_END()
