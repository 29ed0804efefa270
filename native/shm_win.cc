// Windows implementation of shm.h: CreateFileMapping / MapViewOfFile.
//
// Written to compile by construction; it is not built or tested on the
// Linux machines this project runs CI on (see the README's platform table).
// Named shared memory lives in the "Local\" namespace. Windows removes a
// name when the last handle to its section closes (views do not count), so
// POSIX's "the name lives until shm_unlink" is kept by a handle of the
// creator's own: ShmOpen keeps one for each name it created, and ShmUnlink
// (or the creator's exit) closes it. From then on the name is gone and the
// memory lives as long as a view of it. SysV shared memory does not exist on
// Windows and reports ENOSYS.
//
// Which handles are sections (rather than files) is tracked here too:
// GetFileType cannot tell them apart everywhere (Wine reports a section as
// FILE_TYPE_DISK).
//
// Preloading uses PrefetchVirtualMemory (Windows 8+), looked up at run time
// so the file compiles whatever _WIN32_WINNT the build sets; huge pages are
// SEC_LARGE_PAGES for anonymous memory, which needs SeLockMemoryPrivilege
// and otherwise falls back to normal pages. Files cannot use large pages.
// Windows refuses to truncate a file while a view of it exists
// (ERROR_USER_MAPPED_FILE), so the guarded copy only meets in-page I/O
// errors (a network drive going away).
#ifdef _WIN32

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif

#include "shm.h"

#include <errno.h>
#include <windows.h>

#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#ifndef SEC_LARGE_PAGES
#define SEC_LARGE_PAGES 0x80000000
#endif
#ifndef FILE_MAP_LARGE_PAGES
#define FILE_MAP_LARGE_PAGES 0x20000000
#endif

// Exported by node.exe (uv.h declares it; node-gyp's node.lib links it).
extern "C" HANDLE uv_get_osfhandle(int fd);

namespace shmnet {

static int ErrnoFromWin(DWORD e) {
  switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND: return ENOENT;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS: return EEXIST;
    case ERROR_ACCESS_DENIED: return EACCES;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT: return ENOMEM;
    case ERROR_DISK_FULL: return ENOSPC;
    case ERROR_INVALID_PARAMETER: return EINVAL;
    case ERROR_NOT_SUPPORTED: return ENOTSUP;
    case ERROR_USER_MAPPED_FILE: return EBUSY;
    default: return EIO;
  }
}

static Status Fail(const char* syscall) { return Status{ErrnoFromWin(GetLastError()), syscall}; }

static std::wstring LocalName(const char* name) {
  std::string n(name);
  if (!n.empty() && n[0] == '/') n.erase(0, 1);
  std::wstring w(L"Local\\");
  int len = MultiByteToWideChar(CP_UTF8, 0, n.c_str(), -1, nullptr, 0);
  if (len > 1) {
    std::wstring tail(static_cast<size_t>(len - 1), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, n.c_str(), -1, &tail[0], len);
    w += tail;
  }
  return w;
}

// Names this process created and has not unlinked: the handle that keeps each.
static std::mutex table_mutex;
static std::unordered_map<std::wstring, HANDLE> kept_names;
// Section handles ShmOpen returned and HandleClose has not closed.
static std::unordered_set<HANDLE> sections;

static bool IsSection(HANDLE h) {
  std::lock_guard<std::mutex> lock(table_mutex);
  return sections.count(h) != 0;
}

size_t PageSize() {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  // MapViewOfFile offsets must be multiples of the allocation granularity.
  return si.dwAllocationGranularity;
}

// Section handles carry their size in a small side table is not needed:
// VirtualQuery on a view gives it, and ShmOpen reports the size it created.
Status ShmOpen(const char* name, int flags, int mode, uint64_t size, Handle* out, uint64_t* actual_size,
               bool* created) {
  (void)mode;
  std::wstring wname = LocalName(name);
  *created = false;
  HANDLE h = nullptr;
  if (flags & kShmCreate) {
    // SEC_COMMIT charges the whole size against the commit limit now, the
    // Windows counterpart of reserving pages with posix_fallocate.
    h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE | SEC_COMMIT,
                           static_cast<DWORD>(size >> 32), static_cast<DWORD>(size & 0xffffffffu), wname.c_str());
    if (h == nullptr) return Fail("CreateFileMapping");
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
      if (flags & kShmExclusive) {
        CloseHandle(h);
        return Status{EEXIST, "CreateFileMapping"};
      }
    } else {
      *created = true;
    }
  } else {
    DWORD access = (flags & kShmReadOnly) ? FILE_MAP_READ : FILE_MAP_ALL_ACCESS;
    h = OpenFileMappingW(access, FALSE, wname.c_str());
    if (h == nullptr) return Fail("OpenFileMapping");
  }
  // The size of an existing section: map a view and ask for its region size.
  void* view = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
  if (view == nullptr) {
    Status s = Fail("MapViewOfFile");
    CloseHandle(h);
    return s;
  }
  MEMORY_BASIC_INFORMATION info;
  SIZE_T q = VirtualQuery(view, &info, sizeof(info));
  UnmapViewOfFile(view);
  if (q == 0) {
    Status s = Fail("VirtualQuery");
    CloseHandle(h);
    return s;
  }
  if (*created) {
    HANDLE keep = nullptr;
    if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &keep, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
      Status s = Fail("DuplicateHandle");
      CloseHandle(h);
      return s;
    }
    std::lock_guard<std::mutex> lock(table_mutex);
    kept_names[wname] = keep;
  }
  {
    std::lock_guard<std::mutex> lock(table_mutex);
    sections.insert(h);
  }
  *actual_size = *created ? size : static_cast<uint64_t>(info.RegionSize);
  *out = reinterpret_cast<Handle>(h);
  return Ok();
}

// Closes the handle that keeps a name this process created. A name of
// another process cannot be removed from here; it goes with its creator's
// handles.
Status ShmUnlink(const char* name) {
  HANDLE keep = nullptr;
  {
    std::lock_guard<std::mutex> lock(table_mutex);
    auto it = kept_names.find(LocalName(name));
    if (it == kept_names.end()) return Ok();
    keep = it->second;
    kept_names.erase(it);
  }
  if (!CloseHandle(keep)) return Fail("CloseHandle");
  return Ok();
}

// libuv's fds on Windows are descriptors of the C runtime node.exe links,
// whose table an addon's own runtime does not share: only node.exe's libuv
// can turn one into its HANDLE.
Handle FdHandle(int fd) { return reinterpret_cast<Handle>(uv_get_osfhandle(fd)); }

Status HandleSize(Handle h, uint64_t* size) {
  LARGE_INTEGER li;
  if (!GetFileSizeEx(reinterpret_cast<HANDLE>(h), &li)) return Fail("GetFileSizeEx");
  *size = static_cast<uint64_t>(li.QuadPart);
  return Ok();
}

Status HandleClose(Handle h) {
  {
    std::lock_guard<std::mutex> lock(table_mutex);
    sections.erase(reinterpret_cast<HANDLE>(h));
  }
  if (!CloseHandle(reinterpret_cast<HANDLE>(h))) return Fail("CloseHandle");
  return Ok();
}

// PrefetchVirtualMemory, resolved once from kernel32 (absent before Windows 8).
struct RangeEntry {
  PVOID VirtualAddress;
  SIZE_T NumberOfBytes;
};
typedef BOOL(WINAPI* PrefetchFn)(HANDLE, ULONG_PTR, RangeEntry*, ULONG);

static PrefetchFn Prefetcher() {
  static PrefetchFn fn = reinterpret_cast<PrefetchFn>(
      reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "PrefetchVirtualMemory")));
  return fn;
}

static bool Prefetch(void* p, size_t length) {
  PrefetchFn fn = Prefetcher();
  if (fn == nullptr) return false;
  RangeEntry range{p, length};
  return fn(GetCurrentProcess(), 1, &range, 0) != 0;
}

// `h` is a file handle (FdHandle of the JS fd) or a section
// handle from ShmOpen; a file handle needs its own section first.
Status MapHandle(Handle h, uint64_t offset, size_t length, int prot, int flags, void** addr, int* preload,
                 int* huge) {
  *preload = kPreloadNone;
  *huge = kHugeNone;
  HANDLE raw = reinterpret_cast<HANDLE>(h);
  DWORD page = prot == kProtRead ? PAGE_READONLY : (prot == kProtCopyOnWrite ? PAGE_WRITECOPY : PAGE_READWRITE);
  DWORD access = prot == kProtRead ? FILE_MAP_READ : (prot == kProtCopyOnWrite ? FILE_MAP_COPY : FILE_MAP_WRITE);
  HANDLE section = raw;
  bool own_section = false;
  if (!IsSection(raw)) {
    section = CreateFileMappingW(raw, nullptr, page, 0, 0, nullptr);
    if (section == nullptr) return Fail("CreateFileMapping");
    own_section = true;
  }
  void* p = MapViewOfFile(section, access, static_cast<DWORD>(offset >> 32),
                          static_cast<DWORD>(offset & 0xffffffffu), length);
  Status s = p == nullptr ? Fail("MapViewOfFile") : Ok();
  // A view keeps its section alive, so our own section handle can go.
  if (own_section) CloseHandle(section);
  if (s.err != 0) return s;
  if ((flags & kMapPopulate) && Prefetch(p, length)) *preload = kPreloadWillNeed;
  *addr = p;
  return Ok();
}

static HANDLE PagefileSection(uint64_t size, DWORD extra) {
  return CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE | SEC_COMMIT | extra,
                            static_cast<DWORD>(size >> 32), static_cast<DWORD>(size & 0xffffffffu), nullptr);
}

Status MapAnonymous(size_t length, int flags, void** addr, int* preload, int* huge) {
  *preload = kPreloadNone;
  *huge = kHugeNone;
  uint64_t size = length;
  void* p = nullptr;
  // Large pages need SeLockMemoryPrivilege enabled in the token and a size
  // that is a multiple of GetLargePageMinimum(); otherwise normal pages.
  SIZE_T large = GetLargePageMinimum();
  if ((flags & kMapHugeTlb) && large != 0 && length % large == 0) {
    HANDLE section = PagefileSection(size, SEC_LARGE_PAGES);
    if (section != nullptr) {
      p = MapViewOfFile(section, FILE_MAP_ALL_ACCESS | FILE_MAP_LARGE_PAGES, 0, 0, length);
      CloseHandle(section);
      if (p != nullptr) *huge = kHugeTlb;
    }
  }
  if (p == nullptr) {
    HANDLE section = PagefileSection(size, 0);
    if (section == nullptr) return Fail("CreateFileMapping");
    p = MapViewOfFile(section, FILE_MAP_ALL_ACCESS, 0, 0, length);
    Status s = p == nullptr ? Fail("MapViewOfFile") : Ok();
    CloseHandle(section);
    if (s.err != 0) return s;
  }
  if ((flags & kMapPopulate) && Prefetch(p, length)) *preload = kPreloadWillNeed;
  *addr = p;
  return Ok();
}

Status Unmap(void* addr, size_t length) {
  (void)length;
  if (!UnmapViewOfFile(addr)) return Fail("UnmapViewOfFile");
  return Ok();
}

// FlushViewOfFile only hands the dirty pages to the cache manager; the
// data reaches the disk with FlushFileBuffers on the file itself.
Status Sync(void* addr, size_t length, bool async, Handle file) {
  if (!FlushViewOfFile(addr, length)) return Fail("FlushViewOfFile");
  if (!async && file != -1 && !FlushFileBuffers(reinterpret_cast<HANDLE>(file))) return Fail("FlushFileBuffers");
  return Ok();
}

#if defined(_MSC_VER)
static int InPageFilter(DWORD code) {
  return code == EXCEPTION_IN_PAGE_ERROR ? EXCEPTION_EXECUTE_HANDLER : EXCEPTION_CONTINUE_SEARCH;
}

// Structured exception handling: no C++ objects with destructors live here.
Status GuardedCopy(void* dst, const void* src, size_t length) {
  __try {
    memmove(dst, src, length);
  } __except (InPageFilter(GetExceptionCode())) {
    return Status{EFAULT, "memcpy"};
  }
  return Ok();
}
#else
// Non-MSVC Windows toolchains (node-gyp does not use them) have no __try:
// the copy is unguarded there.
Status GuardedCopy(void* dst, const void* src, size_t length) {
  memmove(dst, src, length);
  return Ok();
}
#endif

Status Advise(void* addr, size_t length, int advice) {
  if (advice == kAdviceWillNeed) {
    if (Prefetcher() == nullptr) return Status{ENOSYS, "PrefetchVirtualMemory"};
    if (!Prefetch(addr, length)) return Fail("PrefetchVirtualMemory");
    return Ok();
  }
  if (advice == kAdviceNormal || advice == kAdviceSequential || advice == kAdviceRandom) return Ok();
  return Status{ENOTSUP, "madvise"};
}

Status Lock(void* addr, size_t length) {
  if (!VirtualLock(addr, length)) return Fail("VirtualLock");
  return Ok();
}

Status Unlock(void* addr, size_t length) {
  if (!VirtualUnlock(addr, length)) return Fail("VirtualUnlock");
  return Ok();
}

Status SysvCreate(uint64_t, int, int, int*, int*) { return Status{ENOSYS, "shmget"}; }
Status SysvSize(int, uint64_t*) { return Status{ENOSYS, "shmctl"}; }
Status SysvAttach(int, bool, size_t, int, void**, int*, int*) { return Status{ENOSYS, "shmat"}; }
Status SysvDetach(void*) { return Status{ENOSYS, "shmdt"}; }
Status SysvRemove(int) { return Status{ENOSYS, "shmctl"}; }

}  // namespace shmnet

#endif  // _WIN32
