// Loading the stored content policies into a matcher (from the stored compiled matcher when it fits
// them), the generation counter that says when to load them again, and the checks of a policy
// write.
#include "ingest/policy_set.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace audex::ingest {

namespace {

// The `meta` key counting the committed changes to content policies.
constexpr std::string_view generation_key = "content_policy_generation";
// The `meta` key of the compiled matcher of the stored policies (policy_matcher::serialize()).
constexpr std::string_view database_key = "content_policy_database";

std::uint64_t stored_generation(const store::transaction& txn, const store::object_store& objects) {
    auto g = objects.meta(txn, generation_key);
    return g ? std::stoull(*g) : 0;
}

// The rules of the live stored policies, each policy's after the last one's.
struct stored_rules {
    std::vector<policy_rule> rules;
    std::vector<std::pair<std::uint64_t, std::size_t>> policies;  // id, number of rules
};

stored_rules read_rules(const store::transaction& txn, const store::object_store& objects) {
    stored_rules out;
    objects.scan(txn, *find_model("content_policy"), 0,
                 [&](std::uint64_t id, const store::stored_object& policy) {
                     if (policy.removed) return true;
                     auto r = rules_of(policy.parse());
                     if (!r) {
                         spdlog::error("content policy {} is left out: {}", id, r.error().message);
                         return true;
                     }
                     out.policies.emplace_back(id, r->size());
                     for (auto& rule : *r)
                         out.rules.push_back(std::move(rule));
                     return true;
                 });
    return out;
}

// The matcher of `stored`. Every policy's patterns parsed when it was written, but a set may still
// fail to build (a resource limit of Hyperscan): then each policy is compiled on its own and those
// that fail are left out, so that one policy cannot stop all the others.
std::shared_ptr<const policy_matcher> compile_stored(const stored_rules& stored,
                                                     std::uint64_t generation) {
    auto m = policy_matcher::compile(stored.rules, generation);
    if (m) return *m;
    spdlog::error("the content policies do not compile together: {}", m.error().message);
    std::vector<policy_rule> kept;
    auto next = stored.rules.begin();
    for (auto& [id, count] : stored.policies) {
        std::vector<policy_rule> own(next, next + std::ptrdiff_t(count));
        next += std::ptrdiff_t(count);
        if (auto alone = policy_matcher::compile(own); !alone) {
            spdlog::error("content policy {} is left out: {}", id, alone.error().message);
            continue;
        }
        for (auto& rule : own)
            kept.push_back(std::move(rule));
    }
    if (auto rest = policy_matcher::compile(std::move(kept), generation)) return *rest;
    spdlog::error("the content policies do not compile, even one by one: none is in force");
    return *policy_matcher::compile({}, generation);
}

}  // namespace

policy_set::policy_set(store::object_store& objects) : objects_(objects) {
    rebuild(true);
}

void policy_set::check(const store::transaction& txn, const store::object_store& objects,
                       const boost::json::object& policy) {
    auto rules = rules_of(policy);
    if (!rules) throw api_exception(rules.error());
    if (auto ok = check_rules(*rules); !ok) throw api_exception(ok.error());
    std::string self;  // the id of the stored policy that this write changes
    if (auto id = policy.find("id"); id != policy.end() && id->value().is_string())
        self = id->value().get_string();
    std::size_t total = pattern_count(*rules);
    objects.scan(txn, *find_model("content_policy"), 0,
                 [&](std::uint64_t id, const store::stored_object& other) {
                     if (other.removed || std::to_string(id) == self) return true;
                     if (auto r = rules_of(other.parse())) total += pattern_count(*r);
                     return true;
                 });
    if (total > max_patterns) {
        auto e = api_error::invalid_argument(
            "rules", "the live content policies hold at most " + std::to_string(max_patterns) +
                         " patterns (match and ignore) together; this write would make " +
                         std::to_string(total));
        e.details["limit"] = max_patterns;
        throw api_exception(std::move(e));
    }
}

void policy_set::changed(store::transaction& txn, store::object_store& objects) {
    objects.set_meta(txn, generation_key, std::to_string(stored_generation(txn, objects) + 1));
}

std::uint64_t policy_set::generation(const store::transaction& txn) const {
    return stored_generation(txn, objects_);
}

void policy_set::refresh(bool own_change) {
    try {
        std::uint64_t stored;
        {
            auto txn = objects_.env().read();
            stored = generation(txn);
        }
        if (current_.load()->generation() == stored) return;
        // The writer's own refresh is compiling (or is about to): its write is not answered yet,
        // so an ingest that goes on with the matcher in force misses no answered change.
        if (!own_change && failures_.load() == settled_.load()) return;
        rebuild(false);
    } catch (...) {
        // The write is answered all the same (after_write): whoever refreshes next rebuilds.
        ++failures_;
        throw;
    }
}

void policy_set::rebuild(bool force) {
    std::lock_guard lock(rebuilding_);
    // Read before the generation: a refresh that failed before this point followed a commit that
    // this rebuild sees.
    const auto seen = failures_.load();
    stored_rules stored;
    std::uint64_t built_from;
    std::optional<std::string> bytes;
    {
        auto txn = objects_.env().read();
        built_from = stored_generation(txn, objects_);
        auto current = current_.load();
        if (!force && current && current->generation() == built_from) {
            settled_.store(seen);
            return;
        }
        stored = read_rules(txn, objects_);
        bytes = objects_.meta(txn, database_key);
    }
    // Outside any transaction: ingestion goes on with the previous matcher meanwhile.
    std::shared_ptr<const policy_matcher> m;
    if (bytes) m = policy_matcher::load(stored.rules, *bytes, built_from);
    if (!m) {
        m = compile_stored(stored, built_from);
        try {
            auto serialized = m->serialize();
            objects_.env().write([&](store::transaction& txn) {
                // A later change has committed meanwhile: its own rebuild stores its matcher.
                if (stored_generation(txn, objects_) == built_from)
                    objects_.set_meta(txn, database_key, serialized);
            });
        } catch (const std::exception& e) {
            spdlog::warn(
                "the compiled content policies are not stored ({}): the next start "
                "compiles them again",
                e.what());
        }
    }
    current_.store(std::move(m));
    settled_.store(seen);
}

}  // namespace audex::ingest
