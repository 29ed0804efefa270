// Windows implementation of shm.h: CreateFileMapping / MapViewOfFile.
//
// Written to compile by construction; it is not built or tested on the
// Linux machines this project runs CI on (see the README's platform table).
// Named shared memory lives in the "Local\" namespace and disappears when
// the last handle closes, so ShmUnlink has nothing to remove. SysV shared
// memory does not exist on Windows and reports ENOSYS.
#ifdef _WIN32

#include "shm.h"

#include <errno.h>
#include <io.h>
#include <windows.h>

#include <string>

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
  *actual_size = *created ? size : static_cast<uint64_t>(info.RegionSize);
  *out = reinterpret_cast<Handle>(h);
  return Ok();
}

Status ShmUnlink(const char* name) {
  (void)name;
  return Ok();
}

// libuv's fds on Windows are CRT descriptors over OS handles.
Handle FdHandle(int fd) { return static_cast<Handle>(_get_osfhandle(fd)); }

Status HandleSize(Handle h, uint64_t* size) {
  LARGE_INTEGER li;
  if (!GetFileSizeEx(reinterpret_cast<HANDLE>(h), &li)) return Fail("GetFileSizeEx");
  *size = static_cast<uint64_t>(li.QuadPart);
  return Ok();
}

Status HandleClose(Handle h) {
  if (!CloseHandle(reinterpret_cast<HANDLE>(h))) return Fail("CloseHandle");
  return Ok();
}

Status HandleReserve(Handle h, uint64_t size) {
  (void)h;
  (void)size;
  return Status{ENOSYS, "memfd"};
}

// `h` is a file handle (from _get_osfhandle on the JS fd) or a section
// handle from ShmOpen; a file handle needs its own section first.
Status MapHandle(Handle h, uint64_t offset, size_t length, int prot, int flags, void** addr, bool* populated,
                 bool* huge) {
  *populated = false;
  *huge = false;
  HANDLE raw = reinterpret_cast<HANDLE>(h);
  DWORD page = prot == kProtRead ? PAGE_READONLY : (prot == kProtCopyOnWrite ? PAGE_WRITECOPY : PAGE_READWRITE);
  DWORD access = prot == kProtRead ? FILE_MAP_READ : (prot == kProtCopyOnWrite ? FILE_MAP_COPY : FILE_MAP_WRITE);
  HANDLE section = raw;
  bool own_section = false;
  if (GetFileType(raw) == FILE_TYPE_DISK) {
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
  if (flags & kMapPopulate) {
    WIN32_MEMORY_RANGE_ENTRY range{p, length};
    *populated = PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0) != 0;
  }
  *addr = p;
  return Ok();
}

Status MapAnonymous(size_t length, int flags, void** addr, bool* huge) {
  (void)flags;
  *huge = false;
  uint64_t size = length;
  HANDLE section = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE | SEC_COMMIT,
                                      static_cast<DWORD>(size >> 32), static_cast<DWORD>(size & 0xffffffffu), nullptr);
  if (section == nullptr) return Fail("CreateFileMapping");
  void* p = MapViewOfFile(section, FILE_MAP_ALL_ACCESS, 0, 0, length);
  Status s = p == nullptr ? Fail("MapViewOfFile") : Ok();
  CloseHandle(section);
  if (s.err == 0) *addr = p;
  return s;
}

Status Unmap(void* addr, size_t length) {
  (void)length;
  if (!UnmapViewOfFile(addr)) return Fail("UnmapViewOfFile");
  return Ok();
}

Status Sync(void* addr, size_t length, bool async) {
  (void)async;
  if (!FlushViewOfFile(addr, length)) return Fail("FlushViewOfFile");
  return Ok();
}

Status Advise(void* addr, size_t length, int advice) {
  if (advice == kAdviceWillNeed) {
    WIN32_MEMORY_RANGE_ENTRY range{addr, length};
    if (!PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0)) return Fail("PrefetchVirtualMemory");
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

Status SysvCreate(uint64_t, int, int*) { return Status{ENOSYS, "shmget"}; }
Status SysvSize(int, uint64_t*) { return Status{ENOSYS, "shmctl"}; }
Status SysvAttach(int, bool, void**) { return Status{ENOSYS, "shmat"}; }
Status SysvDetach(void*) { return Status{ENOSYS, "shmdt"}; }
Status SysvRemove(int) { return Status{ENOSYS, "shmctl"}; }

}  // namespace shmnet

#endif  // _WIN32
