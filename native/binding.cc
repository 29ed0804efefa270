// The one file that talks to JavaScript.
//
// Conventions: every function returns its result, or on failure a plain
// object { errno, syscall } that src/native.ts turns into a coded error.
// Nothing throws for run-time failures. Arguments were validated in JS
// (src/native.ts is the only caller); the checks below only guard memory.
//
// Shared mappings reach JS as a SharedArrayBuffer built from a V8 backing
// store whose deleter unmaps when the last reference is collected. Node-API
// cannot create an external SharedArrayBuffer (nodejs/node#62259), so that
// one step uses the V8 API; the napi_value <-> v8::Local conversion below is
// the same bit copy Node's own Node-API implementation does.
// File mappings reach JS as a detachable external ArrayBuffer so close()
// unmaps at once, deterministically.
//
// Windows builds stay within Node-API (SHMNET_NODE_API_ONLY): node.exe
// exports V8's C++ API with MSVC's name mangling and library layout, which
// no other toolchain can link, and one code path on Windows means the path
// that is tested is the one that ships. There, shared mappings reach JS as
// external (non-shared) ArrayBuffers over the same memory: the ring needs
// only Atomics.load/store on them, which work on any Int32Array, and it
// never waits with Atomics.wait across processes.

#if defined(_WIN32) && !defined(SHMNET_NODE_API_ONLY)
#define SHMNET_NODE_API_ONLY 1
#endif

#include <napi.h>
#ifndef SHMNET_NODE_API_ONLY
// node_version.h defines NAPI_VERSION (the newest this Node offers) without
// an #ifndef on some Node lines; keep the one binding.gyp asks for.
#pragma push_macro("NAPI_VERSION")
#undef NAPI_VERSION
#include <node_version.h>
#undef NAPI_VERSION
#pragma pop_macro("NAPI_VERSION")
#include <v8.h>
#include <v8-version.h>
#endif

#include <cstring>
#include <mutex>
#include <unordered_map>

#include <errno.h>

#include "fdpass.h"
#ifndef _WIN32
#include "peercred.h"
#endif
#include "shm.h"

// The V8 calls below (SharedArrayBuffer::NewBackingStore with a deleter,
// SharedArrayBuffer::New from a backing store, GetBackingStore) have kept
// their signatures from V8 8.0 through V8 14 (Node 14 to 26); V8 11.9+ (Node
// 22 on) headers need C++20, which binding.gyp asks for. Because the addon
// uses V8's C++ API, its binary is tied to the Node ABI it was built for:
// it exports NODE_MODULE_VERSION and src/native.ts refuses a binary built
// for another Node before any V8 call is made.
#if !defined(SHMNET_NODE_API_ONLY) && V8_MAJOR_VERSION < 8
#error "shmnet needs V8 8.0 or later (Node.js 14 or later)"
#endif

namespace {

using shmnet::Status;

#ifndef SHMNET_NODE_API_ONLY
napi_value ToNapi(v8::Local<v8::Value> local) {
  napi_value v;
  static_assert(sizeof(v) == sizeof(local), "napi_value is a v8::Local");
  std::memcpy(&v, &local, sizeof(local));
  return v;
}

v8::Local<v8::Value> ToV8(napi_value v) {
  v8::Local<v8::Value> local;
  std::memcpy(static_cast<void*>(&local), &v, sizeof(v));
  return local;
}
#endif  // !SHMNET_NODE_API_ONLY

Napi::Value StatusValue(Napi::Env env, const Status& s) {
  if (s.err == 0) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", Napi::Number::New(env, s.err));
  o.Set("syscall", Napi::String::New(env, s.syscall ? s.syscall : "unknown"));
  return o;
}

int64_t Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
double Num(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
bool Bool(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Boolean>().Value(); }

// ---- shared mappings as SharedArrayBuffer ---------------------------------

void UnmapDeleter(void* data, size_t length, void*) { shmnet::Unmap(data, length); }
void SysvDeleter(void* data, size_t, void*) { shmnet::SysvDetach(data); }

#ifdef SHMNET_NODE_API_ONLY
// A shared mapping as an external ArrayBuffer whose finalizer unmaps once
// the last reference is collected, as the SharedArrayBuffer's deleter does.
using Deleter = void (*)(void* data, size_t length, void* deleter_data);

struct SharedMapping {
  size_t length;
  Deleter deleter;
};

void FinalizeShared(Napi::Env, void* data, SharedMapping* m) {
  m->deleter(data, m->length, nullptr);
  delete m;
}

Napi::Value NewShared(Napi::Env env, void* data, size_t length, Deleter deleter) {
  return Napi::ArrayBuffer::New(env, data, length, FinalizeShared, new SharedMapping{length, deleter});
}

// Every buffer the addon hands out is an ArrayBuffer in this build. Node-API
// cannot look inside a SharedArrayBuffer, so one resolves to nothing.
bool BufferInfo(const Napi::Value& value, void** data, size_t* length) {
  if (!value.IsArrayBuffer()) return false;
  Napi::ArrayBuffer a = value.As<Napi::ArrayBuffer>();
  *data = a.Data();
  *length = a.ByteLength();
  return true;
}
#else
Napi::Value NewShared(Napi::Env env, void* data, size_t length, v8::BackingStore::DeleterCallback deleter) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::shared_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(data, length, deleter, nullptr);
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
  return Napi::Value(env, ToNapi(sab));
}
#endif  // SHMNET_NODE_API_ONLY

// ---- file mappings as detachable ArrayBuffer ------------------------------

struct Mapping {
  void* addr;
  size_t length;
  bool live;
};

std::mutex registry_mutex;
std::unordered_map<void*, Mapping*> registry;

// Runs on the JS thread once the ArrayBuffer is collected (also after an
// explicit unmap, which already released the memory).
void FinalizeMapping(Napi::Env, void*, Mapping* m) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  if (m->live) {
    shmnet::Unmap(m->addr, m->length);
    auto it = registry.find(m->addr);
    if (it != registry.end() && it->second == m) registry.erase(it);
  }
  delete m;
}

#ifndef SHMNET_NODE_API_ONLY
bool BufferInfo(const Napi::Value& value, void** data, size_t* length) {
  v8::Local<v8::Value> l = ToV8(value);
  if (l->IsSharedArrayBuffer()) {
    v8::Local<v8::SharedArrayBuffer> s = l.As<v8::SharedArrayBuffer>();
    *data = s->Data();
    *length = s->ByteLength();
    return true;
  }
  if (l->IsArrayBuffer()) {
    v8::Local<v8::ArrayBuffer> a = l.As<v8::ArrayBuffer>();
    *data = a->Data();
    *length = a->ByteLength();
    return true;
  }
  return false;
}
#endif  // !SHMNET_NODE_API_ONLY

// Resolves [off, off + len) of an (Shared)ArrayBuffer to an address.
// False for anything else, a detached buffer, or a range outside it.
bool Span(const Napi::Value& buffer, double off, double len, void** addr) {
  void* data;
  size_t total;
  if (!BufferInfo(buffer, &data, &total) || data == nullptr) return false;
  if (!(off >= 0) || !(len >= 0) || off + len > static_cast<double>(total)) return false;
  *addr = static_cast<char*>(data) + static_cast<size_t>(off);
  return true;
}

// Resolves (buffer, offset, length) arguments to an address range inside the buffer.
bool Range(const Napi::CallbackInfo& info, void** addr, size_t* length) {
  if (!Span(info[0], Num(info, 1), Num(info, 2), addr)) return false;
  *length = static_cast<size_t>(Num(info, 2));
  return true;
}

Napi::Value RangeError(Napi::Env env, const char* syscall) { return StatusValue(env, Status{EINVAL, syscall}); }

// ---- exported functions ---------------------------------------------------

Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(shmnet::PageSize()));
}

// shmOpen(name, flags, mode, size) -> { handle, size, created }
Napi::Value ShmOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  shmnet::Handle h = -1;
  uint64_t size = 0;
  bool created = false;
  Status s = shmnet::ShmOpen(name.c_str(), static_cast<int>(Int(info, 1)), static_cast<int>(Int(info, 2)),
                             static_cast<uint64_t>(Num(info, 3)), &h, &size, &created);
  if (s.err != 0) return StatusValue(env, s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("handle", Napi::Number::New(env, static_cast<double>(h)));
  o.Set("size", Napi::Number::New(env, static_cast<double>(size)));
  o.Set("created", Napi::Boolean::New(env, created));
  return o;
}

Napi::Value ShmUnlink(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return StatusValue(info.Env(), shmnet::ShmUnlink(name.c_str()));
}

Napi::Value FdHandle(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(shmnet::FdHandle(static_cast<int>(Int(info, 0)))));
}

Napi::Value HandleSize(const Napi::CallbackInfo& info) {
  uint64_t size = 0;
  Status s = shmnet::HandleSize(Int(info, 0), &size);
  if (s.err != 0) return StatusValue(info.Env(), s);
  return Napi::Number::New(info.Env(), static_cast<double>(size));
}

Napi::Value HandleClose(const Napi::CallbackInfo& info) {
  return StatusValue(info.Env(), shmnet::HandleClose(Int(info, 0)));
}

// A mapping just made, and what was done for kMapPopulate and kMapHugeTlb:
// preload is a shmnet::kPreload*, huge a shmnet::kHuge*.
struct MapOut {
  void* addr = nullptr;
  size_t length = 0;
  int preload = 0;
  int huge = 0;
};

// { buffer, preload, huge }
Napi::Object MapResult(Napi::Env env, Napi::Value buffer, const MapOut& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("buffer", buffer);
  o.Set("preload", Napi::Number::New(env, m.preload));
  o.Set("huge", Napi::Number::New(env, m.huge));
  return o;
}

// The (handle, offset, length, prot, flags) arguments of mapShared/mapFile, mapped.
static Status MapFromArgs(const Napi::CallbackInfo& info, MapOut* m) {
  m->length = static_cast<size_t>(Num(info, 2));
  return shmnet::MapHandle(Int(info, 0), static_cast<uint64_t>(Num(info, 1)), m->length, static_cast<int>(Int(info, 3)),
                           static_cast<int>(Int(info, 4)), &m->addr, &m->preload, &m->huge);
}

// mapShared(handle, offset, length, prot, flags) -> { buffer: SharedArrayBuffer, preload, huge }
Napi::Value MapShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MapOut m;
  Status s = MapFromArgs(info, &m);
  if (s.err != 0) return StatusValue(env, s);
  return MapResult(env, NewShared(env, m.addr, m.length, UnmapDeleter), m);
}

// mapFile(handle, offset, length, prot, flags) -> { buffer: ArrayBuffer (detachable), preload, huge }
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MapOut m;
  Status s = MapFromArgs(info, &m);
  if (s.err != 0) return StatusValue(env, s);
  Mapping* entry = new Mapping{m.addr, m.length, true};
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry[m.addr] = entry;
  }
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, m.addr, m.length, FinalizeMapping, entry);
  return MapResult(env, ab, m);
}

// mapAnonymous(length, flags) -> { buffer: SharedArrayBuffer, preload, huge }
Napi::Value MapAnonymous(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MapOut m;
  m.length = static_cast<size_t>(Num(info, 0));
  Status s = shmnet::MapAnonymous(m.length, static_cast<int>(Int(info, 1)), &m.addr, &m.preload, &m.huge);
  if (s.err != 0) return StatusValue(env, s);
  return MapResult(env, NewShared(env, m.addr, m.length, UnmapDeleter), m);
}

// unmap(arrayBuffer): releases a mapFile mapping now and detaches the buffer.
Napi::Value UnmapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) return RangeError(env, "munmap");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  void* addr = ab.Data();
  Mapping* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto it = registry.find(addr);
    if (it == registry.end()) return RangeError(env, "munmap");
    m = it->second;
    registry.erase(it);
    m->live = false;
  }
  // Detach first so no JS view can reach the address once it is unmapped.
  ab.Detach();
  return StatusValue(env, shmnet::Unmap(m->addr, m->length));
}

// sync(buffer, offset, length, async, fileHandle | -1)
Napi::Value Sync(const Napi::CallbackInfo& info) {
  void* addr;
  size_t length;
  if (!Range(info, &addr, &length)) return RangeError(info.Env(), "msync");
  return StatusValue(info.Env(), shmnet::Sync(addr, length, Bool(info, 3), Int(info, 4)));
}

// copy(dst, dstOffset, src, srcOffset, length, handle, required)
//   -> undefined | fileSize | { errno, syscall }
// With a handle (not -1) it first checks (fstat) that the file still holds
// `required` bytes, and returns its current size instead of copying when it
// does not. The copy itself is guarded: a page that vanished under it gives
// { errno: EFAULT, syscall: 'memcpy' } rather than SIGBUS.
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  shmnet::Handle handle = Int(info, 5);
  if (handle != -1) {
    uint64_t size = 0;
    Status s = shmnet::HandleSize(handle, &size);
    if (s.err != 0) return StatusValue(env, s);
    if (static_cast<double>(size) < Num(info, 6)) return Napi::Number::New(env, static_cast<double>(size));
  }
  double length = Num(info, 4);
  void* dst;
  void* src;
  if (!Span(info[0], Num(info, 1), length, &dst) || !Span(info[2], Num(info, 3), length, &src)) {
    return RangeError(env, "memcpy");
  }
  return StatusValue(env, shmnet::GuardedCopy(dst, src, static_cast<size_t>(length)));
}

Napi::Value Advise(const Napi::CallbackInfo& info) {
  void* addr;
  size_t length;
  if (!Range(info, &addr, &length)) return RangeError(info.Env(), "madvise");
  return StatusValue(info.Env(), shmnet::Advise(addr, length, static_cast<int>(Int(info, 3))));
}

Napi::Value Lock(const Napi::CallbackInfo& info) {
  void* addr;
  size_t length;
  if (!Range(info, &addr, &length)) return RangeError(info.Env(), "mlock");
  return StatusValue(info.Env(), shmnet::Lock(addr, length));
}

Napi::Value Unlock(const Napi::CallbackInfo& info) {
  void* addr;
  size_t length;
  if (!Range(info, &addr, &length)) return RangeError(info.Env(), "munlock");
  return StatusValue(info.Env(), shmnet::Unlock(addr, length));
}

// sysvCreate(size, mode, flags) -> { id, huge }
Napi::Value SysvCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = -1, huge = 0;
  Status s = shmnet::SysvCreate(static_cast<uint64_t>(Num(info, 0)), static_cast<int>(Int(info, 1)),
                                static_cast<int>(Int(info, 2)), &id, &huge);
  if (s.err != 0) return StatusValue(env, s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", Napi::Number::New(env, id));
  o.Set("huge", Napi::Number::New(env, huge));
  return o;
}

Napi::Value SysvSize(const Napi::CallbackInfo& info) {
  uint64_t size = 0;
  Status s = shmnet::SysvSize(static_cast<int>(Int(info, 0)), &size);
  if (s.err != 0) return StatusValue(info.Env(), s);
  return Napi::Number::New(info.Env(), static_cast<double>(size));
}

// sysvAttach(id, size, flags) -> { buffer: SharedArrayBuffer, preload, huge } (size from sysvSize)
Napi::Value SysvAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MapOut m;
  m.length = static_cast<size_t>(Num(info, 1));
  Status s = shmnet::SysvAttach(static_cast<int>(Int(info, 0)), false, m.length, static_cast<int>(Int(info, 2)), &m.addr,
                                &m.preload, &m.huge);
  if (s.err != 0) return StatusValue(env, s);
  return MapResult(env, NewShared(env, m.addr, m.length, SysvDeleter), m);
}

Napi::Value SysvRemove(const Napi::CallbackInfo& info) {
  return StatusValue(info.Env(), shmnet::SysvRemove(static_cast<int>(Int(info, 0))));
}

// memfdCreate(label, size) -> { handle, size } (a sealed, nameless region; Linux)
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint64_t size = static_cast<uint64_t>(Num(info, 1));
  shmnet::Handle h = -1;
  Status s = shmnet::MemfdCreate(name.c_str(), size, &h);
  if (s.err != 0) return StatusValue(env, s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("handle", Napi::Number::New(env, static_cast<double>(h)));
  o.Set("size", Napi::Number::New(env, static_cast<double>(size)));
  return o;
}

Napi::Value MemfdSeals(const Napi::CallbackInfo& info) {
  int seals = 0;
  Status s = shmnet::MemfdSeals(Int(info, 0), &seals);
  if (s.err != 0) return StatusValue(info.Env(), s);
  return Napi::Number::New(info.Env(), seals);
}

// sendFd(socketFd, fd)
Napi::Value SendFd(const Napi::CallbackInfo& info) {
  return StatusValue(info.Env(), shmnet::SendFd(static_cast<int>(Int(info, 0)), static_cast<int>(Int(info, 1))));
}

// recvFd(socketFd) -> fd (non-blocking: { errno: EAGAIN } when nothing arrived yet)
Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  int fd = -1;
  Status s = shmnet::RecvFd(static_cast<int>(Int(info, 0)), &fd);
  if (s.err != 0) return StatusValue(info.Env(), s);
  return Napi::Number::New(info.Env(), fd);
}

// peerCred(socketFd) -> { pid, uid, gid } of the peer of a connected Unix socket (kernel's record)
Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef _WIN32
  return StatusValue(env, Status{ENOSYS, "getsockopt"});
#else
  int pid = -1, uid = -1, gid = -1;
  Status s = shmnet::PeerCred(static_cast<int>(Int(info, 0)), &pid, &uid, &gid);
  if (s.err != 0) return StatusValue(env, s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, pid));
  o.Set("uid", Napi::Number::New(env, uid));
  o.Set("gid", Napi::Number::New(env, gid));
  return o;
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCred", Napi::Function::New(env, PeerCred));
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate));
  exports.Set("memfdSeals", Napi::Function::New(env, MemfdSeals));
  exports.Set("sendFd", Napi::Function::New(env, SendFd));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd));
  exports.Set("pageSize", Napi::Function::New(env, PageSize));
  exports.Set("shmOpen", Napi::Function::New(env, ShmOpen));
  exports.Set("shmUnlink", Napi::Function::New(env, ShmUnlink));
  exports.Set("fdHandle", Napi::Function::New(env, FdHandle));
  exports.Set("handleSize", Napi::Function::New(env, HandleSize));
  exports.Set("handleClose", Napi::Function::New(env, HandleClose));
  exports.Set("mapShared", Napi::Function::New(env, MapShared));
  exports.Set("mapFile", Napi::Function::New(env, MapFile));
  exports.Set("mapAnonymous", Napi::Function::New(env, MapAnonymous));
  exports.Set("unmap", Napi::Function::New(env, UnmapFile));
  exports.Set("sync", Napi::Function::New(env, Sync));
  exports.Set("copy", Napi::Function::New(env, Copy));
  exports.Set("advise", Napi::Function::New(env, Advise));
  exports.Set("lock", Napi::Function::New(env, Lock));
  exports.Set("unlock", Napi::Function::New(env, Unlock));
  exports.Set("sysvCreate", Napi::Function::New(env, SysvCreate));
  exports.Set("sysvSize", Napi::Function::New(env, SysvSize));
  exports.Set("sysvAttach", Napi::Function::New(env, SysvAttach));
  exports.Set("sysvRemove", Napi::Function::New(env, SysvRemove));
#ifdef SHMNET_NODE_API_ONLY
  // 0: Node-API only, not tied to one Node ABI.
  exports.Set("nodeAbi", Napi::Number::New(env, 0));
#else
  exports.Set("nodeAbi", Napi::Number::New(env, NODE_MODULE_VERSION));
#endif
  exports.Set("platform", Napi::String::New(env,
#if defined(_WIN32)
                                            "win32"
#elif defined(__APPLE__)
                                            "darwin"
#else
                                            "linux"
#endif
                                            ));
  return exports;
}

}  // namespace

NODE_API_MODULE(shmnet, Init)
