// The JS-visible FIB writer (src/fib/writer.ts is its only user): a thin shell around FibWriter.
// Every call takes a completion callback; the writer's thread finishes a job and hands it back
// through a thread-safe function, so the thread itself never touches N-API values.
#include <napi.h>

#include <memory>

#include "fib_writer.h"
#include "napi_util.h"

namespace gredge {
namespace {

// Writes at least this large are read in place from the caller's (off-heap) buffer.
constexpr size_t kBorrowBytes = 4096;

class NativeFibWriter : public Napi::ObjectWrap<NativeFibWriter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeFibWriter",
                       {InstanceMethod("write", &NativeFibWriter::Write),
                        InstanceMethod("dumpRoutes", &NativeFibWriter::DumpRoutes),
                        InstanceMethod("dumpRules", &NativeFibWriter::DumpRules),
                        InstanceMethod("pending", &NativeFibWriter::Pending),
                        InstanceMethod("close", &NativeFibWriter::Close)});
  }

  NativeFibWriter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeFibWriter>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      throw_code(env, "ERR_FIB_ARG", "NativeFibWriter(protocol)");
      return;
    }
    double p = info[0].As<Napi::Number>().DoubleValue();
    if (!(p >= 1 && p <= 255) || p != double(int(p))) {
      throw_code(env, "ERR_FIB_ARG", "protocol: an integer 1..255");
      return;
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                          "gredge-fib-writer", 0, 1);
    tsfn_.Unref(env);
    Napi::ThreadSafeFunction tsfn = tsfn_;
    std::string err;
    writer_ = FibWriter::open(
        uint8_t(p),
        [tsfn](FibJob* job) mutable {
          napi_status st = tsfn.NonBlockingCall(job, [](Napi::Env env, Napi::Function, FibJob* j) { Complete(env, j); });
          // The environment is going away: the callback reference dies with it.
          if (st != napi_ok) delete static_cast<Owned*>(job->user);
        },
        &err);
    if (!writer_) {
      tsfn_.Release();
      throw_code(env, "ERR_FIB_OPEN", err);
      return;
    }
    live_ = true;
    env_ = env;
    napi_add_env_cleanup_hook(env, Cleanup, this);
  }

  ~NativeFibWriter() override {
    if (env_ != nullptr) napi_remove_env_cleanup_hook(env_, Cleanup, this);
    Shutdown();
  }

 private:
  struct Owned {
    FibJob job;
    Napi::FunctionReference cb;
    // A write's records stay in the caller's buffer (no copy of a million routes): held here
    // until the job is done, and released on the main thread.
    Napi::ObjectReference input;
    NativeFibWriter* self;
  };
  static void Complete(Napi::Env env, FibJob* j) {
    std::unique_ptr<Owned> o(static_cast<Owned*>(j->user));
    if (env == nullptr) return;
    Napi::HandleScope scope(env);
    NativeFibWriter* self = o->self;
    if (--self->pending_ == 0) {
      if (self->live_) self->tsfn_.Unref(env);
      self->Unref();  // may be collected again: nothing of it is in flight
    }
    Napi::Value a, b;
    if (j->kind == FibJob::kWrite) {
      auto res = Napi::Int32Array::New(env, j->results.size());
      if (!j->results.empty()) memcpy(res.Data(), j->results.data(), j->results.size() * 4);
      auto msgs = Napi::Array::New(env, j->messages.size());
      for (size_t i = 0; i < j->messages.size(); i++) {
        auto pair = Napi::Array::New(env, 2);
        pair.Set(0u, Napi::Number::New(env, j->messages[i].first));
        pair.Set(1u, Napi::String::New(env, j->messages[i].second));
        msgs.Set(uint32_t(i), pair);
      }
      a = res;
      b = msgs;
    } else {
      auto recs = Napi::Uint8Array::New(env, j->records.size());
      if (!j->records.empty()) memcpy(recs.Data(), j->records.data(), j->records.size());
      a = recs;
      b = Napi::Number::New(env, j->error);
    }
    o->cb.Call({a, b});
    if (env.IsExceptionPending()) {
      // A throwing callback must not take the writer down; report it as an uncaught error.
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  bool Check(Napi::Env env) {
    if (!live_) throw_code(env, "ERR_FIB_CLOSED", "the FIB writer is closed");
    return live_;
  }

  void Submit(Napi::Env env, Owned* o, const Napi::Value& cb) {
    o->cb = Napi::Persistent(cb.As<Napi::Function>());
    o->self = this;
    o->job.user = o;
    if (pending_++ == 0) {
      tsfn_.Ref(env);
      Ref();  // not collected while a job of it is in flight
    }
    writer_->submit(&o->job);
  }

  // write(records: Uint8Array (48-byte records), cb(results: Int32Array, messages: [errno, text][]))
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsFunction())
      return throw_code(env, "ERR_FIB_ARG", "write(records, callback)"), env.Undefined();
    auto a = info[0].As<Napi::Uint8Array>();
    if (a.TypedArrayType() != napi_uint8_array || a.ByteLength() % kFibRecord != 0)
      return throw_code(env, "ERR_FIB_ARG", "write: records must be a Uint8Array of 48-byte records"),
             env.Undefined();
    auto* o = new Owned();
    o->job.kind = FibJob::kWrite;
    if (a.ByteLength() < kBorrowBytes) {
      // Small arrays may live inside V8's heap, where the collector moves them: copied.
      o->job.records.assign(a.Data(), a.Data() + a.ByteLength());
      o->job.input = o->job.records.data();
    } else {
      o->input = Napi::Persistent(a.As<Napi::Object>());
      o->job.input = a.Data();
    }
    o->job.input_len = a.ByteLength();
    Submit(env, o, info[1]);
    return env.Undefined();
  }

  // dumpRoutes(family, table, cb(records, errno)): the routes of our protocol in one table.
  Napi::Value DumpRoutes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsFunction())
      return throw_code(env, "ERR_FIB_ARG", "dumpRoutes(family, table, callback)"), env.Undefined();
    int fam = info[0].As<Napi::Number>().Int32Value();
    double table = info[1].As<Napi::Number>().DoubleValue();
    if ((fam != 4 && fam != 6) || !(table >= 1 && table <= 4294967295.0) || table != double(uint32_t(table)))
      return throw_code(env, "ERR_FIB_ARG", "dumpRoutes: family 4|6, table 1..2^32-1"), env.Undefined();
    auto* o = new Owned();
    o->job.kind = FibJob::kDumpRoutes;
    o->job.family = fam;
    o->job.tables.push_back(uint32_t(table));
    Submit(env, o, info[2]);
    return env.Undefined();
  }

  // dumpRules(family, cb(records, errno)): the policy rules of our protocol.
  Napi::Value DumpRules(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction())
      return throw_code(env, "ERR_FIB_ARG", "dumpRules(family, callback)"), env.Undefined();
    int fam = info[0].As<Napi::Number>().Int32Value();
    if (fam != 4 && fam != 6) return throw_code(env, "ERR_FIB_ARG", "dumpRules: family 4|6"), env.Undefined();
    auto* o = new Owned();
    o->job.kind = FibJob::kDumpRules;
    o->job.family = fam;
    Submit(env, o, info[1]);
    return env.Undefined();
  }

  Napi::Value Pending(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), pending_); }

  // Finishes what is queued (its callbacks still run), then stops the thread.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  void Shutdown() {
    if (!live_) return;
    live_ = false;
    writer_->close();
    tsfn_.Release();
  }

  static void Cleanup(void* arg) {
    auto* self = static_cast<NativeFibWriter*>(arg);
    self->env_ = nullptr;
    self->Shutdown();
  }

  std::unique_ptr<FibWriter> writer_;
  napi_env env_ = nullptr;
  Napi::ThreadSafeFunction tsfn_;
  uint32_t pending_ = 0;
  bool live_ = false;
};

}  // namespace

void add_fib_bindings(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeFibWriter", NativeFibWriter::Define(env));
}

}  // namespace gredge
