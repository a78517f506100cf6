// Loading the stored content policies into a matcher, and the generation counter that says when
// to load them again.
#include "ingest/policy_set.hpp"

#include <spdlog/spdlog.h>

namespace audex::ingest {

namespace {

// The `meta` key counting the committed changes to content policies.
constexpr std::string_view generation_key = "content_policy_generation";

std::uint64_t generation(const store::transaction& txn, const store::object_store& objects) {
    auto g = objects.meta(txn, generation_key);
    return g ? std::stoull(*g) : 0;
}

}  // namespace

policy_set::policy_set(store::object_store& objects) : objects_(objects) {
    rebuild(true);
}

void policy_set::check(const boost::json::object& policy) {
    auto rules = rules_of(policy);
    if (!rules) throw api_exception(rules.error());
    if (auto m = policy_matcher::compile(std::move(*rules)); !m) throw api_exception(m.error());
}

void policy_set::changed(store::transaction& txn, store::object_store& objects) {
    objects.set_meta(txn, generation_key, std::to_string(generation(txn, objects) + 1));
}

void policy_set::refresh() {
    {
        auto txn = objects_.env().read();
        if (generation(txn, objects_) == current_.load()->generation()) return;
    }
    rebuild(false);
}

void policy_set::rebuild(bool force) {
    std::lock_guard lock(rebuilding_);
    std::vector<policy_rule> rules;
    std::uint64_t built_from;
    {
        auto txn = objects_.env().read();
        built_from = generation(txn, objects_);
        auto current = current_.load();
        if (!force && current && current->generation() == built_from) return;
        objects_.scan(txn, *find_model("content_policy"), 0,
                      [&](std::uint64_t id, const store::stored_object& policy) {
                          if (policy.removed) return true;
                          auto r = rules_of(policy.parse());
                          if (!r) {
                              spdlog::error("content policy {} is left out: {}", id,
                                            r.error().message);
                              return true;
                          }
                          for (auto& rule : *r)
                              rules.push_back(std::move(rule));
                          return true;
                      });
    }
    // Compiled outside the read transaction: ingestion goes on with the previous matcher.
    auto m = policy_matcher::compile(std::move(rules), built_from);
    if (!m) {
        // Every stored policy compiled when it was written; keep matching with what worked.
        spdlog::error("the content policies do not compile: {}", m.error().message);
        if (!current_.load()) current_.store(*policy_matcher::compile({}, built_from));
        return;
    }
    current_.store(std::move(*m));
}

}  // namespace audex::ingest
