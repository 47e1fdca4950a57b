// sd_notify(3) on the wire: one AF_UNIX datagram to $NOTIFY_SOCKET, which is a filesystem path
// or, when it starts with '@', a name in the abstract namespace (the '@' stands for the leading
// NUL byte). Node has no AF_UNIX datagram sockets, hence this file. src/observe/sdnotify.ts
// decides what to send and when; this only sends, and never blocks the event loop: a full
// receive queue is an EAGAIN error, not a wait.
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "napi_util.h"

namespace gredge {
namespace {

// 0, or the errno of the step that failed (EINVAL: not an address sd_notify understands).
int sd_notify_send(const std::string& addr, const std::string& msg, const char** step) {
  *step = "address";
  sockaddr_un sa;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  socklen_t len;
  if (addr.size() >= 2 && addr[0] == '@') {
    // Abstract: sun_path[0] stays 0; the length, not a NUL, ends the name.
    if (addr.size() > sizeof(sa.sun_path)) return EINVAL;
    memcpy(sa.sun_path + 1, addr.data() + 1, addr.size() - 1);
    len = socklen_t(offsetof(sockaddr_un, sun_path) + addr.size());
  } else if (addr.size() >= 2 && addr[0] == '/') {
    if (addr.size() >= sizeof(sa.sun_path) || addr.find('\0') != std::string::npos) return EINVAL;
    memcpy(sa.sun_path, addr.data(), addr.size());
    len = socklen_t(offsetof(sockaddr_un, sun_path) + addr.size() + 1);
  } else {
    return EINVAL;
  }
  *step = "socket";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  *step = "sendto";
  ssize_t n = sendto(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa), len);
  int err = n < 0 ? errno : (size_t(n) != msg.size() ? EMSGSIZE : 0);
  close(fd);
  return err;
}

// sdNotify(address, message): throws ERR_SD_NOTIFY (with errno) when the datagram is not sent.
Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    return throw_code(env, "ERR_SD_NOTIFY_ARG", "sdNotify(address, message)"), env.Undefined();
  std::string addr = info[0].As<Napi::String>().Utf8Value();
  std::string msg = info[1].As<Napi::String>().Utf8Value();
  const char* step = "";
  int err = sd_notify_send(addr, msg, &step);
  if (err != 0) {
    std::string why = strcmp(step, "address") == 0 ? "not an absolute path or @name that fits sockaddr_un"
                                                   : std::string(step) + ": " + strerror(err);
    Napi::Error e = Napi::Error::New(env, "sd_notify to '" + addr + "': " + why);
    e.Set("code", Napi::String::New(env, "ERR_SD_NOTIFY"));
    e.Set("errno", Napi::Number::New(env, err));
    e.ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

}  // namespace

void add_sd_notify_bindings(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
}

}  // namespace gredge
