// The Audex application without sockets, for the libFuzzer targets: a data directory in memory
// (tmpfs when there is one), an admin API key, and one request answered on a private io_context.
#pragma once

#include "api/app.hpp"
#include "audex/error.hpp"
#include "auth/crypto.hpp"
#include "store/lmdb.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace audex::fuzz {

class app_harness {
  public:
    // `on_open` runs after every (re)creation of the store, e.g. to create the objects a target
    // writes to.
    explicit app_harness(std::function<void(app_harness&)> on_open = {})
        : on_open_(std::move(on_open)) {
        spdlog::set_level(spdlog::level::off);
        auth::init();
        auto base = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                        : std::filesystem::temp_directory_path();
        directory_ = base / ("audex-fuzz-" + std::to_string(getpid()));
        open();
    }
    ~app_harness() {
        close();
        std::filesystem::remove_all(directory_);
    }

    // The store grows with every accepted write; a fresh one now and then keeps executions fast.
    void maybe_reset(std::size_t every) {
        if (++runs_ % every == 0) reset();
    }
    void reset() {
        close();
        std::filesystem::remove_all(directory_);
        open();
    }

    const std::string& api_key() const { return api_key_; }

    // A request as the admin sends it.
    http::request post(std::string target, std::string_view content_type, std::string body) const {
        http::request req{boost::beast::http::verb::post, target, 11};
        req.set(boost::beast::http::field::authorization, api_key_);
        req.set(boost::beast::http::field::content_type, content_type);
        req.body() = std::move(body);
        req.prepare_payload();
        return req;
    }

    // Creates a session and returns its id.
    std::string create_session() {
        std::string answer;
        auto status =
            this->answer(post("/api/v2/session", "application/json",
                              R"({"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"})"),
                         &answer);
        if (status != 200) std::abort();
        return std::string(boost::json::parse(answer).at("session").at("id").as_string());
    }

    // What the server decides from a request's header before reading its body.
    http::admission admit(const http::request_header& head) {
        std::optional<http::admission> admitted;
        std::exception_ptr failure;
        boost::asio::co_spawn(ioc_, app_->admit(head, conn_),
                              [&](std::exception_ptr e, http::admission a) {
                                  failure = e;
                                  admitted = std::move(a);
                              });
        ioc_.restart();
        ioc_.run();
        if (failure) std::rethrow_exception(failure);
        return std::move(*admitted);
    }

    // Answers `req` as the server would and reads a streamed body to its end (into `body`, when
    // given); returns the status. Aborts unless every refusal is a JSON error from the catalogue
    // with the status of its type; an exception other than api_exception (a 500 from the server)
    // escapes and ends the fuzzer.
    // `admitted` is what admit() gave for its header, when the caller asked already.
    unsigned answer(http::request req, std::string* body = nullptr,
                    std::optional<http::admission> admitted = std::nullopt) {
        http::reply reply;
        std::exception_ptr failure;
        if (!admitted) admitted = admit(req.base());
        boost::asio::co_spawn(ioc_, app_->handle(std::move(req), conn_, *admitted),
                              [&](std::exception_ptr e, http::reply r) {
                                  failure = e;
                                  reply = std::move(r);
                              });
        ioc_.restart();
        ioc_.run();
        unsigned status = 0;
        std::string out;
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const api_exception& e) {  // the transport answers these
                status = error_status(e.error.type);
                out = error_body(e.error);
            }
        } else {
            status = reply.head.result_int();
            out = std::move(reply.head.body());
            if (reply.stream) {
                while (reply.stream(out))
                    if (!body && status < 400) out.clear();
            }
        }
        if (status >= 400 && !catalogue_error(status, out)) std::abort();
        if (body) *body = std::move(out);
        return status;
    }

  private:
    static bool catalogue_error(unsigned status, std::string_view body) {
        boost::system::error_code ec;
        auto value = boost::json::parse(body, ec);
        auto* object = ec ? nullptr : value.if_object();
        auto* result = object ? object->if_contains("result") : nullptr;
        auto* error = object ? object->if_contains("error") : nullptr;
        auto* type =
            error && error->is_object() ? error->get_object().if_contains("type") : nullptr;
        if (!result || *result != "error" || !type || !type->is_string()) return false;
        for (int t = 0; t <= int(error_type::search_unavailable); ++t)
            if (type->get_string() == error_type_name(error_type(t)))
                return error_status(error_type(t)) == status;
        return false;
    }

    void open() {
        std::filesystem::create_directories(directory_);
        env_ = std::make_unique<store::environment>(directory_);
        api::app_settings settings;
        settings.node_serial = "AUDEX-FUZZ";
        settings.password_cost = auth::password_cost::minimum();
        app_ = std::make_unique<api::app>(settings, *env_);
        app_->users().bootstrap(directory_, std::string("fuzz-admin-password"));
        api_key_ = env_->write([&](store::transaction& txn) {
            return app_->users().issue_api_key(txn, app_->users().find(txn, "admin")->user_id);
        });
        if (on_open_) on_open_(*this);
    }
    void close() {
        app_.reset();
        env_.reset();
    }

    std::function<void(app_harness&)> on_open_;
    std::filesystem::path directory_;
    std::unique_ptr<store::environment> env_;
    std::unique_ptr<api::app> app_;
    std::string api_key_;
    boost::asio::io_context ioc_{1};
    http::connection_info conn_{boost::asio::ip::make_address("127.0.0.1"), false};
    std::size_t runs_ = 0;
};

}  // namespace audex::fuzz
