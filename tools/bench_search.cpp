// The engines of scripts/bench-search on one generated corpus (tools/search_corpus.hpp): Audex in
// process and through HTTP, Xapian, SQLite FTS5 and PostgreSQL GIN. Ingests in durable commits of
// COMMIT records (1,000), then times a fixed set of queries per class, top 10 by rank.
// Usage: audex-bench-search ENGINE TARGET, with ENGINE audex (TARGET: a data directory that
// `audex serve` initialised), http (TARGET: PORT:TOKEN), xapian (TARGET: a new directory), sqlite
// (TARGET: a new file) or postgres (TARGET: a libpq connection string). RECORDS, SESSIONS, QUERIES
// (per class) and COMMIT come from the environment. Prints `RESULT engine metric value` lines.
#include "search_corpus.hpp"

#include "api/domain.hpp"
#include "index/analyzer.hpp"
#include "store/group_writer.hpp"
#include "store/lmdb.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <xapian.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using namespace audex;
using bench::bench_query;
using bench::query_class;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

std::size_t env_size(const char* name, std::size_t fallback) {
    auto v = std::getenv(name);
    return v && *v ? std::stoull(v) : fallback;
}

// Records per ingest commit, the same for every engine; top: answers per query.
const std::size_t commit_size = env_size("COMMIT", 1000), top = 10;

double ms_since(steady::time_point t) {
    return std::chrono::duration<double, std::milli>(steady::now() - t).count();
}

void result(const std::string& engine, const std::string& metric, double value) {
    std::printf("RESULT %s %s %.6g\n", engine.c_str(), metric.c_str(), value);
    std::fflush(stdout);
}

std::string metric_name(query_class c) {
    std::string n = bench::class_name(c);
    std::replace(n.begin(), n.end(), ' ', '_');
    return n;
}

// Runs every class's queries once to warm up, then once timed; `run` answers how many hits it got.
void time_queries(const std::string& engine, const bench::corpus& corpus, std::size_t count,
                  const std::function<std::size_t(const bench_query&)>& run) {
    for (auto c : bench::query_classes) {
        auto queries = corpus.queries(c, count);
        for (auto& q : queries)
            run(q);
        std::vector<double> ms;
        std::size_t answered = 0;
        for (auto& q : queries) {
            auto t = steady::now();
            answered += run(q) > 0;
            ms.push_back(ms_since(t));
        }
        std::sort(ms.begin(), ms.end());
        auto at = [&](double p) {
            return ms[std::size_t(std::max(0.0, std::ceil(p * double(ms.size())) - 1))];
        };
        result(engine, "p50." + metric_name(c), at(0.5));
        result(engine, "p99." + metric_name(c), at(0.99));
        result(engine, "answered." + metric_name(c), double(answered));
    }
}

// The corpus in batches of commit_size records.
std::vector<std::vector<bench::corpus_record>> batches_of(const bench::corpus& corpus) {
    std::vector<std::vector<bench::corpus_record>> batches;
    for (std::size_t n = 0; n < corpus.size(); ++n) {
        if (n % commit_size == 0) batches.emplace_back().reserve(commit_size);
        batches.back().push_back(corpus.at(n));
    }
    return batches;
}

// Ingests `records` records in `batches`, made before (not timed): `commit` stores one batch
// durably, or hands it on to be stored while the next is prepared, and `finish` returns once
// everything handed on is stored. The rate is over the whole, from the first batch to the end of
// `finish`; the CPU time per record is this process's, all its threads.
template <class Batch>
void time_ingest(
    const std::string& engine, std::size_t records, const std::vector<Batch>& batches,
    const std::type_identity_t<std::function<void(const Batch&)>>& commit,
    const std::function<void()>& finish = [] {}) {
    auto t = steady::now();
    auto cpu = std::clock();
    for (auto& batch : batches)
        commit(batch);
    finish();
    result(engine, "ingest_rps", double(records) / (ms_since(t) / 1000));
    result(engine, "ingest_cpu_us",
           double(std::clock() - cpu) / CLOCKS_PER_SEC * 1e6 / double(records));
}

std::uintmax_t tree_size(const std::filesystem::path& p) {
    if (std::filesystem::is_regular_file(p)) return std::filesystem::file_size(p);
    std::uintmax_t total = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) total += e.file_size();
    return total;
}

// ---- Audex -------------------------------------------------------------------------------------

// The query language text of a query; the field + time class searches the text field.
std::string audex_query(const bench_query& q) {
    switch (q.kind) {
        case query_class::term:
            return q.words[0];
        case query_class::all_of:
            return q.words[0] + " AND " + q.words[1];
        case query_class::any_of:
            return q.words[0] + " OR " + q.words[1];
        case query_class::phrase:
            return "\"" + q.words[0] + " " + q.words[1] + "\"";
        case query_class::prefix:
            return q.words[0] + "*";
        case query_class::field_time:
            return "text:" + q.words[0];
    }
    return {};
}

query::node parsed(const std::string& text) {
    auto p = query::parse(text);
    if (auto* e = std::get_if<query::parse_error>(&p))
        throw std::runtime_error("query " + text + ": " + e->message);
    return std::get<query::node>(p);
}

// The bytes of a data directory's LMDB files: the catalog's and every partition's.
std::uintmax_t store_bytes(const std::filesystem::path& dir) {
    std::uintmax_t out = 0;
    for (auto& f : std::filesystem::recursive_directory_iterator(dir))
        if (f.path().filename() == "data.mdb") out += f.file_size();
    return out;
}

// What a server opens on a data directory, for the object API and content search.
struct data_dir {
    store::environment env;
    explicit data_dir(const std::filesystem::path& dir) : env(dir) {}
};
struct audex_stack : data_dir, api::domain {
    explicit audex_stack(const std::filesystem::path& dir) : data_dir(dir), api::domain(env, {}) {}
};

// The merges of content segments on a thread of their own, run again whenever due() was called
// since they last looked; finish() returns once none is left.
class background_merges {
  public:
    explicit background_merges(search::partitioned_store& content)
        : thread_([this, &content] {
              std::unique_lock lock(mutex_);
              for (;;) {
                  wake_.wait(lock, [&] { return due_ || finishing_; });
                  if (!due_) return;
                  due_ = false;
                  lock.unlock();
                  content.merge_all([] { return false; });
                  lock.lock();
              }
          }) {}
    ~background_merges() { finish(); }
    void due() {
        std::lock_guard lock(mutex_);
        due_ = true;
        wake_.notify_one();
    }
    void finish() {
        {
            std::lock_guard lock(mutex_);
            finishing_ = true;
            wake_.notify_one();
        }
        if (thread_.joinable()) thread_.join();
    }

  private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool due_ = false, finishing_ = false;
    std::thread thread_;
};

void run_audex(const bench::corpus& corpus, const std::filesystem::path& dir, std::size_t count) {
    const auth::principal admin{0, "bench", auth::role::admin, {}};
    auto stack = std::make_unique<audex_stack>(dir);
    // The sessions, created through the object API as a server creates them (not timed).
    constexpr std::size_t sessions_per_write = 1000;
    std::vector<std::uint64_t> ids;
    for (std::size_t s = 0; s < corpus.sessions(); s += sessions_per_write) {
        stack->env.write([&](store::transaction& txn) {
            ids.resize(s);
            for (std::size_t k = s; k < std::min(corpus.sessions(), s + sessions_per_write); ++k) {
                json::object body{{"protocol", "ssh"},
                                  {"started_at", format_iso_time(corpus.session_start(k))},
                                  {"finished_at", format_iso_time(corpus.session_end(k))},
                                  {"source_ip", "10.20.30." + std::to_string(k % 250 + 1)},
                                  {"source_port", 40000 + k % 20000},
                                  {"destination_ip", "192.168.10.42"},
                                  {"destination_port", 22},
                                  {"status", "disconnected"}};
                auto answer = stack->api.execute(
                    txn, admin, {api::verb::post, {"session"}, {}, std::move(body)});
                ids.push_back(std::stoull(
                    std::string(json::parse(answer).at("session").at("id").as_string())));
            }
        });
    }
    // Content as a client sends it: each batch as the bodies of POST /api/v2/session/<id>/content,
    // one JSON array per session (not timed).
    struct request {
        std::uint64_t session;
        std::string body;
    };
    std::vector<std::vector<request>> requests;
    for (auto& batch : batches_of(corpus)) {
        auto& out = requests.emplace_back();
        for (std::size_t i = 0; i < batch.size();) {
            json::array body;
            auto session = batch[i].session;
            for (; i < batch.size() && batch[i].session == session; ++i)
                body.push_back(json::object{{"type", batch[i].type},
                                            {"text", batch[i].text},
                                            {"start_time", format_iso_time(batch[i].start)},
                                            {"channel_id", 0}});
            out.push_back({ids[session], json::serialize(body)});
        }
    }
    // Content as a server ingests it: each request's body parsed, checked and matched outside
    // the transaction, as a server's I/O thread does, while the group writer stores the batch
    // before it in one write transaction; after each commit, the segment merges run on a thread
    // of their own, as a server's maintenance thread runs them. The whole process is pinned to
    // one core.
    {
        background_merges merges(stack->partitions);
        store::group_writer writer(stack->env);
        std::vector<std::future<void>> stored;  // the batch the writer holds, by partition
        time_ingest(
            "audex", corpus.size(), requests,
            [&](const std::vector<request>& batch) {
                std::map<store::environment*, std::vector<api::object_api::session_content>>
                    contents;
                for (auto& r : batch) {
                    auto c = stack->api.prepare_content(admin, r.session, r.body, false);
                    contents[&c.partition->env].push_back(std::move(c));
                }
                for (auto& f : stored)  // one commit per batch and partition, in order
                    f.get();
                stored.clear();
                for (auto& [env, part] : contents) {
                    auto done = std::make_shared<std::promise<void>>();
                    stored.push_back(done->get_future());
                    writer.submit(
                        [&stack, part = std::move(part)](store::transaction& txn) {
                            for (auto& c : part)
                                stack->api.append_content(txn, c);
                        },
                        [&merges, done](std::exception_ptr failure) {
                            if (failure) return done->set_exception(failure);
                            merges.due();
                            done->set_value();
                        },
                        env);
                }
            },
            [&] {
                for (auto& f : stored)
                    f.get();
                merges.finish();
            });
    }
    result("audex", "size_bytes", double(store_bytes(dir)));

    time_queries("audex", corpus, count, [&](const bench_query& q) -> std::size_t {
        if (q.kind == query_class::field_time) {
            auto txn = stack->env.read();
            api::audit::session_selection s;
            s.content = parsed(audex_query(q));
            s.start = q.from;
            s.end = q.to;
            auto selected = stack->search.select(txn, s, now_micros());
            if (!selected) throw std::runtime_error(selected.error().message);
            return std::min(top, selected->size());
        }
        auto hits =
            stack->partitions.search_records(stack->env.read(), parsed(audex_query(q)), top);
        if (!hits) throw std::runtime_error(hits.error().message);
        return hits->size();
    });

    // Restart: close everything, open the data directory again, answer a first term query.
    stack.reset();
    auto first = corpus.queries(query_class::term, 1)[0];
    auto t = steady::now();
    stack = std::make_unique<audex_stack>(dir);
    result("audex", "open_ms", ms_since(t));
    if (auto hits =
            stack->partitions.search_records(stack->env.read(), parsed(audex_query(first)), top);
        !hits)
        throw std::runtime_error(hits.error().message);
    result("audex", "restart_ms", ms_since(t));

    // Dropping the oldest month: its partition goes whole, with its sessions.
    auto oldest = stack->partitions.all().all().front()->name;
    t = steady::now();
    if (!stack->partitions.all().drop(oldest)) throw std::runtime_error("no partition to drop");
    result("audex", "drop_ms", ms_since(t));
}

// ---- Audex through HTTP ------------------------------------------------------------------------

std::string url_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char ch : s) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out += char(ch);
        } else {
            out += '%';
            out += hex[ch >> 4];
            out += hex[ch & 15];
        }
    }
    return out;
}

void run_http(const bench::corpus& corpus, const std::string& target, std::size_t count) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    auto colon = target.find(':');
    auto port = std::uint16_t(std::stoul(target.substr(0, colon)));
    auto token = target.substr(colon + 1);
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    beast::flat_buffer buffer;
    // Cross-session content search: the sessions with the best-ranked matching records.
    time_queries("http", corpus, count, [&](const bench_query& q) -> std::size_t {
        std::string path = "/api/audit/sessions?limit=10&content=" + url_encode(audex_query(q));
        if (q.kind == query_class::field_time)
            path += "&start=" + url_encode(format_iso_time(q.from, 0)) +
                    "&end=" + url_encode(format_iso_time(q.to, 0));
        http::request<http::empty_body> req{http::verb::get, path, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, token);
        req.keep_alive(true);
        http::write(stream, req);
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        if (res.result_int() != 200)
            throw std::runtime_error(path + ": " + std::to_string(res.result_int()) + " " +
                                     res.body().substr(0, 300));
        return json::parse(res.body()).at("items").as_array().size();
    });
}

// ---- Xapian ------------------------------------------------------------------------------------

void run_xapian(const bench::corpus& corpus, const std::filesystem::path& dir, std::size_t count) {
    Xapian::WritableDatabase db(dir.string(), Xapian::DB_CREATE_OR_OVERWRITE);
    std::vector<std::string> tokens;
    time_ingest("xapian", corpus.size(), batches_of(corpus),
                [&](const std::vector<bench::corpus_record>& batch) {
                    for (auto& r : batch) {
                        Xapian::Document doc;
                        tokens.clear();
                        index::analyze(r.text, tokens);
                        for (std::size_t i = 0; i < tokens.size(); ++i)
                            doc.add_posting(tokens[i], Xapian::termpos(i + 1));
                        doc.add_value(0, Xapian::sortable_serialise(double(r.start)));
                        doc.add_value(1, Xapian::sortable_serialise(double(r.session)));
                        doc.set_data(r.text);
                        db.add_document(doc);
                    }
                    db.commit();  // fsyncs
                });
    result("xapian", "size_bytes", double(tree_size(dir)));
    Xapian::Enquire enquire(db);  // BM25 by default
    auto xapian_query = [](const bench_query& q) {
        using Q = Xapian::Query;
        switch (q.kind) {
            case query_class::term:
                return Q(q.words[0]);
            case query_class::all_of:
                return Q(Q::OP_AND, Q(q.words[0]), Q(q.words[1]));
            case query_class::any_of:
                return Q(Q::OP_OR, Q(q.words[0]), Q(q.words[1]));
            case query_class::phrase:
                return Q(Q::OP_PHRASE, q.words.begin(), q.words.end(), 2);
            case query_class::prefix:
                return Q(Q::OP_WILDCARD, q.words[0]);
            case query_class::field_time:
                break;
        }
        return Q(Q::OP_FILTER, Q(q.words[0]),
                 Q(Q::OP_VALUE_RANGE, 0, Xapian::sortable_serialise(double(q.from)),
                   Xapian::sortable_serialise(double(q.to))));
    };
    time_queries("xapian", corpus, count, [&](const bench_query& q) -> std::size_t {
        enquire.set_query(xapian_query(q));
        auto mset = enquire.get_mset(0, top);
        std::size_t n = 0;
        for (auto it = mset.begin(); it != mset.end(); ++it)
            n += !it.get_document().get_data().empty();
        return n;
    });
    // The session-level question: the best record of each session, collapsed on the session.
    enquire.set_collapse_key(1);
    time_queries("xapian_sessions", corpus, count, [&](const bench_query& q) -> std::size_t {
        enquire.set_query(xapian_query(q));
        return enquire.get_mset(0, top).size();
    });
}

// ---- SQLite FTS5 -------------------------------------------------------------------------------

// The text as the analyzer's tokens separated by spaces, so that FTS5 and PostgreSQL index the
// same words as Audex and Xapian.
std::string normalized(const std::string& text) {
    std::string out;
    for (auto& t : index::analyze(text))
        out += (out.empty() ? "" : " ") + t;
    return out;
}

struct sqlite_db {
    sqlite3* db = nullptr;
    explicit sqlite_db(const std::string& file) {
        if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) throw std::runtime_error("sqlite open");
    }
    ~sqlite_db() { sqlite3_close(db); }
    void exec(const std::string& sql) {
        char* error = nullptr;
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
            std::string message = error ? error : "?";
            sqlite3_free(error);
            throw std::runtime_error("sqlite: " + message + " in " + sql);
        }
    }
    sqlite3_stmt* prepare(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
        return s;
    }
};

void run_sqlite(const bench::corpus& corpus, const std::string& file, std::size_t count) {
    sqlite_db db(file);
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    db.exec(
        "CREATE TABLE records(id INTEGER PRIMARY KEY, session INTEGER, type TEXT, "
        "start INTEGER, text TEXT)");
    db.exec("CREATE VIRTUAL TABLE words USING fts5(norm, content='')");
    auto record = db.prepare("INSERT INTO records VALUES(?, ?, ?, ?, ?)");
    auto words = db.prepare("INSERT INTO words(rowid, norm) VALUES(?, ?)");
    std::int64_t id = 0;
    time_ingest("sqlite", corpus.size(), batches_of(corpus),
                [&](const std::vector<bench::corpus_record>& batch) {
                    db.exec("BEGIN");
                    for (auto& r : batch) {
                        ++id;
                        sqlite3_bind_int64(record, 1, id);
                        sqlite3_bind_int64(record, 2, r.session);
                        sqlite3_bind_text(record, 3, r.type.c_str(), -1, SQLITE_TRANSIENT);
                        sqlite3_bind_int64(record, 4, r.start);
                        sqlite3_bind_text(record, 5, r.text.c_str(), -1, SQLITE_TRANSIENT);
                        if (sqlite3_step(record) != SQLITE_DONE)
                            throw std::runtime_error("sqlite insert");
                        sqlite3_reset(record);
                        auto norm = normalized(r.text);
                        sqlite3_bind_int64(words, 1, id);
                        sqlite3_bind_text(words, 2, norm.c_str(), -1, SQLITE_TRANSIENT);
                        if (sqlite3_step(words) != SQLITE_DONE)
                            throw std::runtime_error("sqlite insert");
                        sqlite3_reset(words);
                    }
                    db.exec("COMMIT");
                });
    sqlite3_finalize(record);
    sqlite3_finalize(words);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    result("sqlite", "size_bytes", double(std::filesystem::file_size(file)));

    const std::string select =
        "SELECT r.text FROM records r JOIN (SELECT rowid AS id, rank FROM "
        "words WHERE words MATCH ?1 ";
    auto ranked = db.prepare(select + "ORDER BY rank LIMIT 10) w ON r.id = w.id ORDER BY w.rank");
    auto in_time = db.prepare(
        "SELECT r.text FROM words w JOIN records r ON r.id = w.rowid WHERE words MATCH ?1 "
        "AND r.start BETWEEN ?2 AND ?3 ORDER BY w.rank LIMIT 10");
    auto sqlite_match = [](const bench_query& q) {
        std::string match;
        switch (q.kind) {
            case query_class::term:
            case query_class::field_time:
                match = "\"" + q.words[0] + "\"";
                break;
            case query_class::all_of:
                match = "\"" + q.words[0] + "\" AND \"" + q.words[1] + "\"";
                break;
            case query_class::any_of:
                match = "\"" + q.words[0] + "\" OR \"" + q.words[1] + "\"";
                break;
            case query_class::phrase:
                match = "\"" + q.words[0] + " " + q.words[1] + "\"";
                break;
            case query_class::prefix:
                match = "\"" + q.words[0] + "\"*";
                break;
        }
        return match;
    };
    // The session-level question: each session's best record (FTS5's rank is negative bm25).
    auto sessions = db.prepare(
        "SELECT r.session, min(w.rank) AS best FROM (SELECT rowid AS id, rank FROM words WHERE "
        "words MATCH ?1) w JOIN records r ON r.id = w.id WHERE ?2 IS NULL OR r.start BETWEEN ?2 "
        "AND ?3 GROUP BY r.session ORDER BY best LIMIT 10");
    auto run = [&](sqlite3_stmt* s, const bench_query& q) -> std::size_t {
        auto match = sqlite_match(q);
        sqlite3_bind_text(s, 1, match.c_str(), -1, SQLITE_TRANSIENT);
        if (q.kind == query_class::field_time) {
            sqlite3_bind_int64(s, 2, q.from);
            sqlite3_bind_int64(s, 3, q.to);
        }
        std::size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            n += sqlite3_column_bytes(s, 0) > 0;
        if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db.db));
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);  // no window: ?2 and ?3 are NULL
        return n;
    };
    time_queries("sqlite", corpus, count, [&](const bench_query& q) {
        return run(q.kind == query_class::field_time ? in_time : ranked, q);
    });
    time_queries("sqlite_sessions", corpus, count,
                 [&](const bench_query& q) { return run(sessions, q); });
    sqlite3_finalize(ranked);
    sqlite3_finalize(in_time);
    sqlite3_finalize(sessions);
}

// ---- PostgreSQL GIN ----------------------------------------------------------------------------

struct pg_connection {
    PGconn* conn;
    explicit pg_connection(const std::string& info) : conn(PQconnectdb(info.c_str())) {
        if (PQstatus(conn) != CONNECTION_OK)
            throw std::runtime_error(std::string("postgres: ") + PQerrorMessage(conn));
    }
    ~pg_connection() { PQfinish(conn); }
    void check(PGresult* r, const std::string& what) {
        auto status = PQresultStatus(r);
        bool ok =
            status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN;
        std::string message = ok ? "" : PQresultErrorMessage(r);
        PQclear(r);
        if (!ok) throw std::runtime_error("postgres: " + what + ": " + message);
    }
    void exec(const std::string& sql) { check(PQexec(conn, sql.c_str()), sql); }
};

// A value of COPY's text format.
void copy_escape(std::string& out, std::string_view s) {
    for (char ch : s) {
        switch (ch) {
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                out += ch;
        }
    }
}

// The tsvector of a text's tokens with their positions (PostgreSQL keeps positions to 16,383).
std::string tsvector_of(const std::string& text) {
    std::map<std::string, std::vector<std::size_t>> positions;
    auto tokens = index::analyze(text);
    for (std::size_t i = 0; i < tokens.size(); ++i)
        positions[tokens[i]].push_back(std::min<std::size_t>(i + 1, 16383));
    std::string out;
    for (auto& [word, at] : positions) {
        out += (out.empty() ? "'" : " '") + word + "':";
        for (std::size_t i = 0; i < at.size() && i < 256; ++i)
            out += (i ? "," : "") + std::to_string(at[i]);
    }
    return out;
}

void run_postgres(const bench::corpus& corpus, const std::string& info, std::size_t count) {
    pg_connection pg(info);
    pg.exec(
        "CREATE TABLE records(id integer PRIMARY KEY, session integer, type text, "
        "start bigint, text text, words tsvector)");
    pg.exec("CREATE INDEX records_words ON records USING gin(words)");
    std::int64_t id = 0;
    std::string rows;
    time_ingest(
        "postgres", corpus.size(), batches_of(corpus),
        [&](const std::vector<bench::corpus_record>& batch) {
            rows.clear();
            for (auto& r : batch) {
                rows += std::to_string(++id) + "\t" + std::to_string(r.session) + "\t" + r.type +
                        "\t" + std::to_string(r.start) + "\t";
                copy_escape(rows, r.text);
                rows += "\t" + tsvector_of(r.text) + "\n";
            }
            pg.exec("BEGIN");
            pg.check(PQexec(pg.conn, "COPY records FROM STDIN"), "COPY");
            if (PQputCopyData(pg.conn, rows.data(), int(rows.size())) != 1 ||
                PQputCopyEnd(pg.conn, nullptr) != 1)
                throw std::runtime_error(std::string("postgres COPY: ") + PQerrorMessage(pg.conn));
            pg.check(PQgetResult(pg.conn), "COPY");
            pg.exec("COMMIT");  // fsync on, synchronous_commit on
        });
    pg.exec("VACUUM ANALYZE records");
    {
        auto r = PQexec(pg.conn, "SELECT pg_total_relation_size('records')");
        result("postgres", "size_bytes", std::stod(PQgetvalue(r, 0, 0)));
        PQclear(r);
    }
    pg.check(PQprepare(pg.conn, "ranked",
                       "SELECT text FROM records, to_tsquery('simple', $1) q WHERE words @@ q "
                       "ORDER BY ts_rank(words, q) DESC LIMIT 10",
                       1, nullptr),
             "prepare");
    pg.check(PQprepare(pg.conn, "in_time",
                       "SELECT text FROM records, to_tsquery('simple', $1) q WHERE words @@ q "
                       "AND start BETWEEN $2 AND $3 ORDER BY ts_rank(words, q) DESC LIMIT 10",
                       3, nullptr),
             "prepare");
    // The session-level question: each session's best record.
    pg.check(PQprepare(pg.conn, "sessions",
                       "SELECT session, max(ts_rank(words, q)) AS best FROM records, "
                       "to_tsquery('simple', $1) q WHERE words @@ q AND ($2::bigint IS NULL OR "
                       "start BETWEEN $2 AND $3) GROUP BY session ORDER BY best DESC LIMIT 10",
                       3, nullptr),
             "prepare");
    auto run = [&](const bench_query& q, bool by_session) -> std::size_t {
        auto quoted = [](const std::string& w) { return "'" + w + "'"; };
        std::string tsquery;
        switch (q.kind) {
            case query_class::term:
            case query_class::field_time:
                tsquery = quoted(q.words[0]);
                break;
            case query_class::all_of:
                tsquery = quoted(q.words[0]) + " & " + quoted(q.words[1]);
                break;
            case query_class::any_of:
                tsquery = quoted(q.words[0]) + " | " + quoted(q.words[1]);
                break;
            case query_class::phrase:
                tsquery = quoted(q.words[0]) + " <-> " + quoted(q.words[1]);
                break;
            case query_class::prefix:
                tsquery = quoted(q.words[0]) + ":*";
                break;
        }
        auto from = std::to_string(q.from), to = std::to_string(q.to);
        bool in_time = q.kind == query_class::field_time;
        const char* values[] = {tsquery.c_str(), in_time ? from.c_str() : nullptr,
                                in_time ? to.c_str() : nullptr};
        auto r = by_session ? PQexecPrepared(pg.conn, "sessions", 3, values, nullptr, nullptr, 0)
                            : PQexecPrepared(pg.conn, in_time ? "in_time" : "ranked",
                                             in_time ? 3 : 1, values, nullptr, nullptr, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            std::string message = PQresultErrorMessage(r);
            PQclear(r);
            throw std::runtime_error("postgres: " + message);
        }
        auto n = std::size_t(PQntuples(r));
        PQclear(r);
        return n;
    };
    time_queries("postgres", corpus, count, [&](const bench_query& q) { return run(q, false); });
    time_queries("postgres_sessions", corpus, count,
                 [&](const bench_query& q) { return run(q, true); });
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || commit_size == 0) {
        std::fprintf(
            stderr,
            "usage: [COMMIT=N>0] audex-bench-search audex|http|xapian|sqlite|postgres TARGET\n");
        return 2;
    }
    std::string engine = argv[1], target = argv[2];
    store::keep_freed_memory();  // as `audex` does, for every engine alike
    bench::corpus corpus(env_size("RECORDS", 1'000'000), env_size("SESSIONS", 20'000),
                         env_size("MONTHS", 0));
    auto count = env_size("QUERIES", 200);
    try {
        if (engine == "audex")
            run_audex(corpus, target, count);
        else if (engine == "http")
            run_http(corpus, target, count);
        else if (engine == "xapian")
            run_xapian(corpus, target, count);
        else if (engine == "sqlite")
            run_sqlite(corpus, target, count);
        else if (engine == "postgres")
            run_postgres(corpus, target, count);
        else
            throw std::runtime_error("unknown engine " + engine);
    } catch (std::exception& e) {
        std::fprintf(stderr, "audex-bench-search %s: %s\n", engine.c_str(), e.what());
        return 1;
    }
}
