// Tests of core/schema.hpp: the models load with their flags, to_stored converts and rejects input
// (with details.field naming the attribute), to_output renders date-times, objspec's shape.
#include "core/schema.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <string_view>

namespace json = boost::json;
using audex::attribute;
using audex::attribute_kind;
using audex::error_type;
using audex::model;

namespace {

const model& model_named(std::string_view name) {
    auto m = audex::find_model(name);
    BOOST_TEST_REQUIRE(m != nullptr, name);
    return *m;
}

const attribute& attr(std::string_view model_name, std::string_view name) {
    auto a = model_named(model_name).find(name);
    BOOST_TEST_REQUIRE(a != nullptr, model_name << "." << name);
    return *a;
}

// A conversion that must succeed: model, attribute, input JSON, expected stored JSON.
struct ok_case {
    std::string_view model, attribute, input, stored;
};
std::ostream& operator<<(std::ostream& os, const ok_case& c) {
    return os << c.model << "." << c.attribute << " " << c.input;
}

const ok_case ok_cases[] = {
    {"session", "started_at", R"("2022-04-05 16:06:07.313862+02")", "1649167567313862"},
    {"session", "started_at", R"("2022-04-05")", "1649116800000000"},
    {"session", "started_at", R"("1969-12-31T23:59:59.5Z")", "-500000"},
    {"session", "started_at", "null", "null"},
    {"session", "user_id", R"("42")", R"("42")"},
    {"session", "user_id", R"("18446744073709551615")", R"("18446744073709551615")"},
    {"session", "source_ip", R"("10.0.0.1")", R"("10.0.0.1")"},
    {"session", "source_ip", R"("::1")", R"("::1")"},
    {"session", "source_ip", R"("2001:db8::ff00:42:8329")", R"("2001:db8::ff00:42:8329")"},
    {"session", "protocol", R"("ssh")", R"("ssh")"},
    {"session", "source_port", "22", "22"},
    {"session", "source_port", "0", "0"},
    {"session", "source_port", "65535", "65535"},
    {"session", "source_port", "22.0", "22"},  // a whole double becomes an integer
    {"session", "indexed", "2", "2"},
    {"session", "indexed", "2.0", "2"},
    {"session", "activity", "12.5", "12.5"},  // number: doubles stay doubles
    {"session", "activity", "12", "12"},
    {"session", "paused", "true", "true"},
    {"session", "ml", R"({"ml_threat_level": 0.5, "ml_converted_at": "2022-04-05"})",
     R"({"ml_threat_level": 0.5, "ml_converted_at": 1649116800000000})"},
    {"session", "ml", R"({"ml_threat_level": null})", "{}"},  // null members are dropped
    {"user", "name", R"("alice")", R"("alice")"},
    {"user", "role", R"("admin")", R"("admin")"},
    {"content_policy", "rules",
     R"([{"name": "r", "event_type": "command", "match": ["rm -rf"], "store_alert": false}])",
     R"([{"name": "r", "event_type": "command", "match": ["rm -rf"], "store_alert": false}])"},
    {"content_policy", "rules", "[]", "[]"},
};

// A conversion that must fail: model, attribute, input JSON, expected details.field.
struct bad_case {
    std::string_view model, attribute, input, field;
};
std::ostream& operator<<(std::ostream& os, const bad_case& c) {
    return os << c.model << "." << c.attribute << " " << c.input;
}

const bad_case bad_cases[] = {
    // date-times
    {"session", "started_at", R"("2022-02-30")", "started_at"},
    {"session", "started_at", R"("yesterday")", "started_at"},
    {"session", "started_at", "1649116800", "started_at"},
    // ids
    {"session", "user_id", R"("")", "user_id"},
    {"session", "user_id", R"("12a")", "user_id"},
    {"session", "user_id", R"("-1")", "user_id"},
    {"session", "user_id", R"("18446744073709551616")", "user_id"},
    {"session", "user_id", R"("123456789012345678901")", "user_id"},
    {"session", "user_id", "42", "user_id"},
    // IP addresses
    {"session", "source_ip", R"("10.0.0.256")", "source_ip"},
    {"session", "source_ip", R"("10.0.0")", "source_ip"},
    {"session", "source_ip", R"("localhost")", "source_ip"},
    {"session", "source_ip", R"("10.0.0.1 ")", "source_ip"},
    {"session", "source_ip", R"("2001:db8:::1")", "source_ip"},
    // enums
    {"session", "protocol", R"("ftp")", "protocol"},
    {"session", "protocol", R"("")", "protocol"},
    {"session", "dump_mode", R"("some")", "dump_mode"},
    {"session", "indexed", "3", "indexed"},
    {"user", "role", R"("root")", "role"},
    // integers and numbers
    {"session", "source_port", "22.5", "source_port"},
    {"session", "source_port", R"("22")", "source_port"},
    {"session", "source_port", "true", "source_port"},
    {"session", "source_port", "-1", "source_port"},
    {"session", "source_port", "65536", "source_port"},
    {"session", "source_port", "1e300", "source_port"},
    {"session", "size", "-5", "size"},
    {"session", "activity", R"("12.5")", "activity"},
    // strings and booleans
    {"session", "command", "5", "command"},
    {"session", "paused", R"("true")", "paused"},
    {"session", "paused", "1", "paused"},
    {"user", "name", R"("")", "name"},
    {"user", "password", R"("short")", "password"},
    // nested objects and arrays
    {"session", "ml", R"("high")", "ml"},
    {"session", "ml", R"({"ml_threat_level": 1, "colour": "red"})", "ml.colour"},
    {"session", "ml", R"({"ml_threat_level": "high"})", "ml.ml_threat_level"},
    {"session", "ml", R"({"ml_converted_at": "2022-13-01"})", "ml.ml_converted_at"},
    {"content_policy", "rules", R"({"name": "r"})", "rules"},
    {"content_policy", "rules", R"([{"name": "r", "event_type": "command"}])", "rules.0.match"},
    {"content_policy", "rules",
     R"([{"name": "r", "event_type": "command", "match": []}, {"event_type": "command", "match": []}])",
     "rules.1.name"},
    {"content_policy", "rules", R"([{"name": "r", "event_type": "keyboard", "match": []}])",
     "rules.0.event_type"},
    {"content_policy", "rules", R"([{"name": "r", "event_type": "command", "match": [1]}])",
     "rules.0.match.0"},
    {"content_policy", "rules",
     R"([{"name": "r", "event_type": "command", "match": [], "severity": 3}])", "rules.0.severity"},
    {"content_policy", "rules", R"([{"name": "", "event_type": "command", "match": []}])",
     "rules.0.name"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(core_schema)

BOOST_AUTO_TEST_CASE(every_model_loads) {
    const auto& all = audex::models();
    for (auto name : {"account", "backup", "content_policy", "listener", "safe", "server",
                      "session", "session_backup", "user"}) {
        auto m = audex::find_model(name);
        BOOST_TEST_REQUIRE(m != nullptr, name);
        BOOST_TEST(m->name == name);
        BOOST_TEST(m->spec != nullptr);
        BOOST_TEST(!m->attributes.empty(), name);
        BOOST_TEST(all.count(name) == 1u);
        for (auto& a : m->attributes) {
            BOOST_TEST(a.spec != nullptr, name << "." << a.name);
            BOOST_TEST(m->find(a.name) == &a);
        }
    }
    BOOST_TEST(all.size() == 9u);
    BOOST_TEST(audex::find_model("errors") == nullptr);  // the catalogue is not a model
    BOOST_TEST(audex::find_model("nonexistent") == nullptr);
    BOOST_TEST(audex::find_model("") == nullptr);
    BOOST_TEST(model_named("session").find("nonexistent") == nullptr);
}

BOOST_AUTO_TEST_CASE(flags) {
    auto& id = attr("session", "id");
    BOOST_TEST(id.readonly);
    BOOST_TEST((id.kind == attribute_kind::id));
    BOOST_TEST(!id.required);

    auto& name = attr("user", "name");
    BOOST_TEST(name.unique);
    BOOST_TEST(name.ignore_case);
    BOOST_TEST(name.required);
    BOOST_TEST(!name.readonly);
    BOOST_TEST(!name.is_protected);

    auto& password = attr("user", "password");
    BOOST_TEST(password.is_protected);
    BOOST_TEST(!password.unique);

    auto& user_name = attr("session", "user_name");
    BOOST_TEST(user_name.expensive);
    BOOST_TEST(!attr("session", "protocol").expensive);

    BOOST_TEST(attr("session", "protocol").required);
    BOOST_TEST(attr("session", "started_at").required);
    BOOST_TEST(!attr("session", "finished_at").required);
    BOOST_TEST(!attr("session", "user_id").required);
    int required = 0;
    for (auto& a : model_named("session").attributes)
        required += a.required;
    BOOST_TEST(required == 2);

    BOOST_TEST(attr("session", "user_id").references == "user");
    BOOST_TEST(attr("session", "server_id").references == "server");
    BOOST_TEST(attr("session", "handled_by").references.empty());
    BOOST_TEST(attr("session", "created_at").readonly);
    BOOST_TEST(attr("session", "removed").readonly);
}

BOOST_AUTO_TEST_CASE(kinds) {
    BOOST_TEST((attr("session", "user_id").kind == attribute_kind::id));
    BOOST_TEST((attr("session", "source_ip").kind == attribute_kind::ip));
    BOOST_TEST((attr("session", "started_at").kind == attribute_kind::datetime));
    BOOST_TEST((attr("session", "protocol").kind == attribute_kind::string));
    BOOST_TEST((attr("session", "source_port").kind == attribute_kind::integer));
    BOOST_TEST((attr("session", "activity").kind == attribute_kind::number));
    BOOST_TEST((attr("session", "paused").kind == attribute_kind::boolean));
    BOOST_TEST((attr("session", "ml").kind == attribute_kind::object));
    BOOST_TEST((attr("content_policy", "rules").kind == attribute_kind::array));
}

BOOST_DATA_TEST_CASE(to_stored_converts, boost::unit_test::data::make(ok_cases), c) {
    auto& a = attr(c.model, c.attribute);
    auto stored = audex::to_stored(a, json::parse(c.input), c.attribute);
    BOOST_TEST_REQUIRE(stored.has_value(), (stored ? "" : stored.error().message));
    auto expected = json::parse(c.stored);
    BOOST_TEST(*stored == expected, json::serialize(*stored) << " != " << c.stored);
    // Integers and date-times are stored as int64, not as doubles.
    if (expected.is_int64()) BOOST_TEST(stored->is_int64());
}

BOOST_DATA_TEST_CASE(to_stored_rejects, boost::unit_test::data::make(bad_cases), c) {
    auto& a = attr(c.model, c.attribute);
    auto stored = audex::to_stored(a, json::parse(c.input), c.attribute);
    BOOST_TEST_REQUIRE(!stored.has_value(),
                       "accepted as " << (stored ? json::serialize(*stored) : ""));
    auto e = stored.error();
    BOOST_TEST((e.type == error_type::invalid_argument));
    auto field = e.details.if_contains("field");
    BOOST_TEST_REQUIRE(field != nullptr);
    BOOST_TEST_REQUIRE(field->is_string());
    BOOST_TEST(std::string_view(field->get_string()) == c.field);
    BOOST_TEST(e.message.starts_with(std::string(c.field) + ":"), e.message);
}

BOOST_AUTO_TEST_CASE(to_stored_uses_the_given_path) {
    auto stored = audex::to_stored(attr("session", "source_port"), json::value(-1), "body.port");
    BOOST_TEST_REQUIRE(!stored.has_value());
    BOOST_TEST(stored.error().details.at("field") == "body.port");
    BOOST_TEST(stored.error().message.find("minimum") != std::string::npos);

    stored = audex::to_stored(attr("session", "source_port"), json::value(70000), "source_port");
    BOOST_TEST_REQUIRE(!stored.has_value());
    BOOST_TEST(stored.error().message.find("maximum") != std::string::npos);

    stored = audex::to_stored(attr("session", "protocol"), json::value("ftp"), "protocol");
    BOOST_TEST_REQUIRE(!stored.has_value());
    BOOST_TEST(stored.error().message.find("\"ssh\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(to_output_renders_date_times) {
    auto& started = attr("session", "started_at");
    BOOST_TEST(audex::to_output(started, json::value(1649167678657010)) ==
               "2022-04-05 14:07:58.65701+00");
    BOOST_TEST(audex::to_output(started, json::value(nullptr)).is_null());
    BOOST_TEST(audex::to_output(attr("session", "source_port"), json::value(22)) == 22);
    BOOST_TEST(audex::to_output(attr("session", "protocol"), json::value("ssh")) == "ssh");

    auto ml = audex::to_output(attr("session", "ml"),
                               json::parse(R"({"ml_threat_level": 0.5, "ml_converted_at": 0})"));
    BOOST_TEST(ml == json::parse(R"({"ml_threat_level": 0.5,
                                     "ml_converted_at": "1970-01-01 00:00:00+00"})"));

    // to_output(to_stored(x)) is x in the API's canonical form.
    auto stored = audex::to_stored(started, json::value("2022-04-05T16:06:07.313862+02:00"), "s");
    BOOST_TEST_REQUIRE(stored.has_value());
    BOOST_TEST(audex::to_output(started, *stored) == "2022-04-05 14:06:07.313862+00");
}

BOOST_AUTO_TEST_CASE(objspec_shape) {
    for (auto& [name, m] : audex::models()) {
        auto spec = audex::objspec(m);
        BOOST_TEST(spec.size() == m.attributes.size(), name);
        for (auto& a : m.attributes) {
            auto entry = spec.if_contains(a.name);
            BOOST_TEST_REQUIRE(entry != nullptr, name << "." << a.name);
            BOOST_TEST_REQUIRE(entry->is_object());
            auto& o = entry->get_object();
            BOOST_TEST(!o.contains("references"), name << "." << a.name);
            BOOST_TEST(o.contains("type"), name << "." << a.name);
            if (a.required)
                BOOST_TEST(o.at("required") == true, name << "." << a.name);
            else
                BOOST_TEST(!o.contains("required"), name << "." << a.name);
        }
    }
    auto session = audex::objspec(model_named("session"));
    BOOST_TEST(session.at("protocol").at("required") == true);
    BOOST_TEST(session.at("started_at").at("required") == true);
    BOOST_TEST(session.at("started_at").at("format") == "date-time");
    BOOST_TEST(session.at("id").at("readonly") == true);
    BOOST_TEST(session.at("user_name").at("expensive") == true);
    BOOST_TEST(session.at("user_id").at("format") == "id");
    BOOST_TEST(!session.at("user_id").as_object().contains("references"));
    BOOST_TEST(session.at("protocol").at("enum").as_array().size() == 12u);
    auto user = audex::objspec(model_named("user"));
    BOOST_TEST(user.at("name").at("unique") == true);
    BOOST_TEST(user.at("name").at("ignore_case") == true);
    BOOST_TEST(user.at("name").at("required") == true);
    BOOST_TEST(user.at("password").at("protected") == true);
}

BOOST_AUTO_TEST_SUITE_END()
