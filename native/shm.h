// Platform layer: the mapping syscalls, nothing else.
//
// Every function returns a Status; `err` is 0 on success, otherwise the
// positive errno (or, on Windows, a POSIX-like errno translated from
// GetLastError) and `syscall` names the call that failed. Nothing here
// throws and nothing here validates what the JavaScript side already checked
// (names, sizes, ranges); binding.cc turns a Status into a value JS reads.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shmnet {

struct Status {
  int err;
  const char* syscall;
};

inline Status Ok() { return Status{0, nullptr}; }

// A file descriptor on POSIX, a HANDLE on Windows.
typedef int64_t Handle;

// shm_open flags.
enum : int { kShmCreate = 1, kShmExclusive = 2, kShmReadOnly = 4 };
// Mapping protection.
enum : int { kProtRead = 0, kProtReadWrite = 1, kProtCopyOnWrite = 2 };
// Mapping flags.
enum : int { kMapPopulate = 1, kMapHugeTlb = 2 };
// madvise advice, in the order src/native.ts lists them.
enum : int {
  kAdviceNormal = 0,
  kAdviceSequential,
  kAdviceRandom,
  kAdviceWillNeed,
  kAdviceDontNeed,
  kAdviceHugePage,
  kAdviceNoHugePage,
};

size_t PageSize();

// Opens (and with kShmCreate creates) a named shared-memory object. A newly
// created object is sized to `size` and its pages are reserved, so a full
// /dev/shm fails here rather than with SIGBUS on first touch. `created`
// tells whether this call created the object; `actual_size` is its size.
Status ShmOpen(const char* name, int flags, int mode, uint64_t size, Handle* out, uint64_t* actual_size,
               bool* created);
Status ShmUnlink(const char* name);

// The handle behind a file descriptor Node's fs module opened.
Handle FdHandle(int fd);

Status HandleSize(Handle h, uint64_t* size);
Status HandleClose(Handle h);
// Grows a file-backed object (used after a memfd is created).
Status HandleReserve(Handle h, uint64_t size);

// Maps [offset, offset + length) of `h`; offset must be page aligned.
// `populated` reports whether MAP_POPULATE was applied, `huge` whether
// MAP_HUGETLB was.
Status MapHandle(Handle h, uint64_t offset, size_t length, int prot, int flags, void** addr, bool* populated,
                 bool* huge);
Status MapAnonymous(size_t length, int flags, void** addr, bool* huge);
Status Unmap(void* addr, size_t length);

Status Sync(void* addr, size_t length, bool async);
Status Advise(void* addr, size_t length, int advice);
Status Lock(void* addr, size_t length);
Status Unlock(void* addr, size_t length);

// System V shared memory (as godcong/mmap's OpenMem uses it).
Status SysvCreate(uint64_t size, int mode, int* id);
Status SysvSize(int id, uint64_t* size);
Status SysvAttach(int id, bool read_only, void** addr);
Status SysvDetach(void* addr);
Status SysvRemove(int id);

}  // namespace shmnet
