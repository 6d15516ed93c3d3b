#!/usr/bin/python3
"""webprofile.py - a CPU or heap profile made ready for pprof's web viewer.

  webprofile.py cpu PROGRAM RAW.pb.gz CALLS CPU-SECONDS OUT.pb.gz
  webprofile.py heap PROGRAM RAW.pb.gz CALLS OUT.pb.gz
  webprofile.py base IN.pb.gz OUT.pb.gz
      RAW.pb.gz is pprof's own conversion (pprof -proto) of a gperftools
      CPU profile, or of a tcmalloc heap profile less its base; CALLS is
      how many calls of hi_handle the profiled run made, CPU-SECONDS the
      CPU time the profiled process used. Writes OUT.pb.gz:

      - every value per 1,000,000 calls, so that two units' profiles
        compare however long each ran: a second per million calls is a
        microsecond per call; pprof's bytes are counted in powers of
        1,024, so its GB per million calls is 1,074 bytes per call;
      - CPU time as the process's measured CPU time, shared out by
        samples: the profile's own times assume the rate it asked for
        (1000 a second), and the kernel's tick may allow only 250;
      - three sample types in every profile, CPU time and allocations
        (those the profile does not measure are 0), so that a unit's
        CPU and heap profiles load as one and the viewer's SAMPLE menu
        switches between them;
      - functions named in Debian's stripped libraries (libpcre2, libc),
        where pprof alone writes "[libpcre2-8.so.0.11.2]" (see name_of);
      - addresses as the ELF file's own (see prepare_code), which is what the
        viewer's disassembly needs from the pprof Debian ships.

  base makes a prepared profile into pprof's -diff_base for another
  (see as_base).

A profile is a gzipped protocol buffer (google/pprof's proto/profile.proto);
this reads and writes the wire format itself (section "Wire format"), so
it needs nothing beyond Python.
"""
import bisect
import gzip
import os
import struct
import sys

PER_CALLS = 1_000_000
COMMENT = ("Every value is per 1,000,000 calls of hi_handle: a second here is a microsecond"
           " per call. pprof's kB, MB and GB are powers of 1,024: 1GB here is 1,074 bytes per call,"
           " 1MB 1.05 bytes.")
# The sample types of every profile this writes, in order.
SAMPLE_TYPES = [("cpu", "nanoseconds"), ("alloc_objects", "count"), ("alloc_space", "bytes")]
FULL_RANGE = (1 << 64) - 1    # a program's mapping's limit (prepare_code)
HEAP_START = 1 << 43          # where a heap profile's program goes
BASE_START = 1 << 44          # how far a diff's base moves up (as_base)


def fail(message):
    """Prints message and exits with status 1."""
    print(f"webprofile: {message}", file=sys.stderr)
    sys.exit(1)


# ============================ Wire format =====================================
# A message is a list of (field number, value): an int for a varint, bytes
# for a length-delimited field (a string, a nested message or a packed
# list). profile.proto uses no other wire types.

def read_varint(data, at):
    """Returns (the varint at data[at:], the position after it)."""
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7f) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def decode(data):
    """Returns the message in data as [(field, value)]."""
    fields, at = [], 0
    while at < len(data):
        key, at = read_varint(data, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = read_varint(data, at)
        elif wire == 2:
            length, at = read_varint(data, at)
            value, at = data[at:at + length], at + length
        else:
            raise ValueError(f"wire type {wire} in field {field}: not a pprof profile")
        fields.append((field, value))
    return fields


def varint(value):
    """Returns value as a varint; a negative one as its 64-bit two's complement."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7f | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode(fields):
    """Returns the wire form of [(field, value)], as decode reads it."""
    out = bytearray()
    for field, value in fields:
        if isinstance(value, int):
            out += varint(field << 3) + varint(value)
        else:
            out += varint(field << 3 | 2) + varint(len(value)) + value
    return bytes(out)


def signed(value):
    """Returns a decoded int64 with its sign."""
    return value - (1 << 64) if value >= 1 << 63 else value


def ints(fields, field):
    """Returns the repeated integer field, packed or not, as a list."""
    found = []
    for number, value in fields:
        if number != field:
            continue
        if isinstance(value, int):
            found.append(signed(value))
        else:
            at = 0
            while at < len(value):
                item, at = read_varint(value, at)
                found.append(signed(item))
    return found


def first(fields, field, default=0):
    """Returns the last value of a singular field (protobuf's rule), or default."""
    found = [value for number, value in fields if number == field]
    return found[-1] if found else default


def packed(field, values):
    """Returns a packed repeated integer field."""
    return (field, b"".join(varint(value) for value in values))


# ============================ The profile =====================================
# profile.proto's field numbers, for the parts this changes.
P_SAMPLE_TYPE, P_SAMPLE, P_MAPPING, P_LOCATION, P_FUNCTION, P_STRING = 1, 2, 3, 4, 5, 6
P_COMMENT, P_DEFAULT_SAMPLE_TYPE = 13, 14
S_LOCATION, S_VALUE = 1, 2
M_ID, M_START, M_LIMIT, M_OFFSET, M_FILE, M_HAS_FUNCTIONS = 1, 2, 3, 4, 5, 7
L_ID, L_MAPPING, L_ADDRESS, L_LINE = 1, 2, 3, 4
LINE_FUNCTION = 1
F_ID, F_NAME, F_SYSTEM_NAME, F_FILE = 1, 2, 3, 4


class Profile:
    """A profile's top-level fields, and its string table as a list."""

    def __init__(self, path):
        try:
            with gzip.open(path) as file:
                data = file.read()
        except OSError as error:
            fail(f"cannot read {path}: {error}")
        fields = decode(data)
        self.strings = [value.decode() for number, value in fields if number == P_STRING]
        self.fields = [(number, value) for number, value in fields if number != P_STRING]

    def messages(self, field):
        """Returns the decoded messages of a repeated message field."""
        return [decode(value) for number, value in self.fields if number == field]

    def replace(self, field, messages):
        """Sets a repeated message field to messages (decoded), in place."""
        at = next((i for i, (number, _) in enumerate(self.fields) if number == field),
                  len(self.fields))
        kept = [(number, value) for number, value in self.fields if number != field]
        at = sum(1 for number, _ in self.fields[:at] if number != field)
        self.fields = kept[:at] + [(field, encode(message)) for message in messages] + kept[at:]

    def string(self, text):
        """Returns text's index in the string table, adding it if new."""
        if text not in self.strings:
            self.strings.append(text)
        return self.strings.index(text)

    def write(self, path):
        """Writes the profile, gzipped, to path."""
        data = encode(self.fields + [(P_STRING, text.encode()) for text in self.strings])
        with gzip.open(path, "wb") as file:
            file.write(data)


# ============================ ELF: where code is, and its names ===============
# Only what a 64-bit little-endian ELF (x86-64, arm64) needs here.

class Elf:
    """An ELF file's loadable segments, function symbols and function starts."""

    def __init__(self, path):
        with open(path, "rb") as file:
            self.data = file.read()
        if self.data[:4] != b"\x7fELF" or self.data[4] != 2 or self.data[5] != 1:
            raise ValueError("not a 64-bit little-endian ELF file")
        (self.type, _, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
         shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", self.data, 16)
        self.segments = []          # (file offset, virtual address, file size) of PT_LOADs
        self.build_id = None
        for index in range(phnum):
            kind, _, offset, vaddr, _, filesz, _, _ = struct.unpack_from(
                "<IIQQQQQQ", self.data, phoff + index * phentsize)
            if kind == 1:
                self.segments.append((offset, vaddr, filesz))
            elif kind == 4:
                self.build_id = self.build_id or self.note_build_id(offset, filesz)
        self.sections = {}
        headers = [struct.unpack_from("<IIQQQQIIQQ", self.data, shoff + i * shentsize)
                   for i in range(shnum)] if shoff else []
        if headers:
            names = headers[shstrndx]
            for header in headers:
                self.sections[self.cstring(names[4] + header[0])] = header

    def cstring(self, at):
        """Returns the NUL-terminated string at file offset at."""
        return self.data[at:self.data.index(b"\0", at)].decode(errors="replace")

    def note_build_id(self, offset, size):
        """Returns the GNU build ID in the notes at offset, as hex, or None."""
        end = offset + size
        while offset + 12 <= end:
            namesz, descsz, kind = struct.unpack_from("<III", self.data, offset)
            name_at = offset + 12
            desc_at = name_at + (namesz + 3) // 4 * 4
            if kind == 3 and self.data[name_at:name_at + namesz] == b"GNU\0":
                return self.data[desc_at:desc_at + descsz].hex()
            offset = desc_at + (descsz + 3) // 4 * 4
        return None

    def functions(self, table, strings):
        """Returns [(address, size, name)] of the defined functions in the
        symbol table section table (.symtab or .dynsym)."""
        if table not in self.sections or strings not in self.sections:
            return []
        _, _, _, _, offset, size, _, _, _, entsize = self.sections[table]
        names_at = self.sections[strings][4]
        found = []
        for at in range(offset, offset + size, entsize or 24):
            name, info, _, shndx, value, symsize = struct.unpack_from("<IBBHQQ", self.data, at)
            if info & 0xf in (2, 10) and shndx != 0 and value != 0:    # FUNC, GNU_IFUNC
                found.append((value, symsize, self.cstring(names_at + name)))
        return found

    def function_starts(self):
        """Returns the sorted start addresses of every function with unwind
        information, named or not, from .eh_frame_hdr's search table; []
        if it is missing or encoded in a way this does not read."""
        if ".eh_frame_hdr" not in self.sections:
            return []
        _, _, _, vaddr, offset, size, _, _, _, _ = self.sections[".eh_frame_hdr"]
        version, pointer_encoding, count_encoding, table_encoding = self.data[offset:offset + 4]
        # The encodings GNU ld writes: a 4-byte pointer, a 4-byte count, and
        # the table as 4-byte signed offsets from the section's start.
        if version != 1 or pointer_encoding != 0x1b or count_encoding != 0x03 or table_encoding != 0x3b:
            return []
        count = struct.unpack_from("<I", self.data, offset + 8)[0]
        count = min(count, (size - 12) // 8)
        return sorted(vaddr + struct.unpack_from("<i", self.data, offset + 12 + 8 * i)[0]
                      for i in range(count))


class Names:
    """Function names for the addresses of one library or program."""

    def __init__(self, path, elf):
        self.base = os.path.basename(path)
        self.stem = self.base.split(".so")[0]
        symbols = elf.functions(".symtab", ".strtab")
        if not symbols and elf.build_id:
            # A separate debug file (Debian's libc6-dbg, say) has the full table.
            debug = f"/usr/lib/debug/.build-id/{elf.build_id[:2]}/{elf.build_id[2:]}.debug"
            try:
                symbols = Elf(debug).functions(".symtab", ".strtab")
            except (OSError, ValueError):
                symbols = []
        self.complete = bool(symbols)
        symbols = symbols or elf.functions(".dynsym", ".dynstr")
        symbols.sort()
        self.symbols = symbols
        self.addresses = [address for address, _, _ in symbols]
        self.starts = elf.function_starts()

    def name_of(self, address):
        """Returns the name of the function at address (the file's own):
        the symbol it lies in; else, in a library whose symbol table was
        stripped (only the exported functions keep names, in .dynsym), its
        function's start in the unwind table, as "libpcre2-8:0x2a3f0" (a
        static function of the library; without dots, which pprof's graph
        would break the name at); else "[libpcre2-8.so.0.11.2]".
        Nearest-preceding-symbol naming would be wrong here: it would file a
        static function under the exported one before it. The unwind
        table has each function's start, not its end: code that no entry
        covers (there is little in a C library) takes the name of the
        function before it."""
        at = bisect.bisect_right(self.addresses, address) - 1
        if at >= 0:
            start, size, name = self.symbols[at]
            if start <= address < start + max(size, 1):
                return name
        at = bisect.bisect_right(self.starts, address) - 1
        if at >= 0:
            return f"{self.stem}:0x{self.starts[at]:x}"
        return f"[{self.base}]"


# ============================ Preparing a profile =============================

def file_shift(mapping, elf):
    """Returns what to add to the addresses of mapping (a process's address
    range, as the profile recorded it) to make them elf's own addresses,
    the ones nm and objdump print; None if no loadable segment holds it."""
    offset = first(mapping, M_OFFSET)
    for segment_offset, vaddr, size in elf.segments:
        if segment_offset <= offset < segment_offset + max(size, 1):
            return vaddr + (offset - segment_offset) - first(mapping, M_START)
    return None


def with_fields(message, **changes):
    """Returns message with the singular fields given (by number, as
    F<number>=value) set, replacing what it held."""
    numbers = {int(key[1:]): value for key, value in changes.items()}
    return [(number, value) for number, value in message if number not in numbers] + \
        sorted(numbers.items())


def prepare_code(profile, program, kind):
    """Names the functions of every library whose symbol table was
    stripped, and gives the program's code its own addresses. Returns
    the names of the libraries named here.

    The program's mapping becomes the whole address space at offset 0,
    its addresses the file's own. pprof (Debian's 2021 version, and
    upstream's since) computes a file's load address once, from the
    first address it is asked about, the order it walks the graph's
    nodes in deciding (report.go, nodesPerSymbol): when that
    address is another library's, the file is never disassembled
    ("no matches found"). A mapping of the whole address space at
    offset 0 is the one pprof takes as already adjusted: its base is 0
    whatever the address and whatever the linker's layout
    (elfexec.GetBase, "a fake mapping that spans the entire address
    space"), and the program's addresses are the file's own. The
    libraries keep their run-time addresses, far above the program's,
    so that no sample of theirs lands in its functions.

    In a heap profile (kind "heap") the program is another build of the
    same code (bench-heap, on tcmalloc): its code moves to HEAP_START,
    under a name no file has, so that the CPU profile's program alone is
    disassembled, with the CPU samples alone."""
    shifts, tables, named, mappings, programs = {}, {}, [], [], {}
    for mapping in profile.messages(P_MAPPING):
        identity, path = first(mapping, M_ID), profile.strings[first(mapping, M_FILE)]
        try:
            elf = Elf(path)
            shift = file_shift(mapping, elf)
        except (OSError, ValueError, struct.error):
            shift = None                     # the kernel, [vdso], a file gone
        if shift is None:
            mappings.append(mapping)
            continue
        shifts[identity] = shift
        if os.path.realpath(path) == os.path.realpath(program) and kind == "cpu":
            programs[identity] = 0
            mapping = with_fields(mapping, **{f"F{M_START}": 0, f"F{M_LIMIT}": FULL_RANGE,
                                              f"F{M_OFFSET}": 0})
        elif os.path.realpath(path) == os.path.realpath(program):
            programs[identity] = HEAP_START
            mapping = with_fields(mapping, **{f"F{M_START}": HEAP_START, f"F{M_LIMIT}": 2 * HEAP_START,
                                              f"F{M_OFFSET}": 0,
                                              f"F{M_FILE}": profile.string(f"{path} (heap profile)")})
        else:
            table = Names(path, elf)
            if not table.complete:
                tables[identity] = table
                named.append(os.path.basename(path))
                mapping = with_fields(mapping, **{f"F{M_HAS_FUNCTIONS}": 1})
        mappings.append(mapping)
    if not programs:
        fail(f"the profile has no mapping of {program}: a profile of another program?")

    functions = profile.messages(P_FUNCTION)
    next_id = 1 + max((first(function, F_ID) for function in functions), default=0)
    by_name, locations = {}, []
    for location in profile.messages(P_LOCATION):
        identity = first(location, L_MAPPING)
        if identity in programs:
            location = with_fields(location, **{f"F{L_ADDRESS}": first(location, L_ADDRESS)
                                                + shifts[identity] + programs[identity]})
        elif identity in tables:
            # pprof's own names here depend on the symbolizer it finds:
            # llvm-symbolizer leaves the static functions blank, nm's
            # nearest preceding symbol files them under the wrong
            # exported one. All are replaced.
            name = tables[identity].name_of(first(location, L_ADDRESS) + shifts[identity])
            if name not in by_name:
                by_name[name] = next_id
                functions.append([(F_ID, next_id), (F_NAME, profile.string(name)),
                                  (F_SYSTEM_NAME, profile.string(name))])
                next_id += 1
            line = encode([(LINE_FUNCTION, by_name[name])])
            location = [(n, v) for n, v in location if n != L_LINE] + [(L_LINE, line)]
        locations.append(location)

    used = {first(decode(line), LINE_FUNCTION) for location in locations
            for number, line in location if number == L_LINE}
    profile.replace(P_MAPPING, mappings)
    profile.replace(P_LOCATION, locations)
    profile.replace(P_FUNCTION, [f for f in functions if first(f, F_ID) in used])
    return named


def as_base(in_path, out_path):
    """The base subcommand: in_path's profile, for pprof -diff_base, with
    all its code moved up by BASE_START and its files' names left empty,
    so that pprof opens none of them: the newer program's disassembly
    would otherwise count the older one's samples at the same addresses.
    Its functions and source lines stay. Returns 0."""
    profile = Profile(in_path)
    mappings = []
    for mapping in profile.messages(P_MAPPING):
        start, limit = first(mapping, M_START), first(mapping, M_LIMIT)
        if limit == FULL_RANGE:
            limit = HEAP_START
        mappings.append(with_fields(mapping, **{f"F{M_START}": start + BASE_START,
                                                f"F{M_LIMIT}": limit + BASE_START,
                                                f"F{M_FILE}": profile.string("")}))
    locations = [with_fields(location, **{f"F{L_ADDRESS}": first(location, L_ADDRESS) + BASE_START})
                 for location in profile.messages(P_LOCATION)]
    profile.replace(P_MAPPING, mappings)
    profile.replace(P_LOCATION, locations)
    profile.write(out_path)
    return 0


def prepare_values(profile, calls, cpu_ns):
    """Makes the sample types SAMPLE_TYPES, each value per PER_CALLS calls;
    with cpu_ns (a CPU profile), the CPU times are the samples' share of it.
    Returns the number of stacks, and of CPU samples (0 in a heap profile)."""
    kinds = [(profile.strings[first(kind, 1)], profile.strings[first(kind, 2)])
             for kind in profile.messages(P_SAMPLE_TYPE)]
    sources = [kinds.index(kind) if kind in kinds else None for kind in SAMPLE_TYPES]
    if all(source is None for source in sources):
        fail(f"the profile measures {kinds}, none of {SAMPLE_TYPES}")
    rows = [ints(sample, S_VALUE) for sample in profile.messages(P_SAMPLE)]
    total = 0
    if cpu_ns is not None:
        if ("samples", "count") not in kinds:
            fail(f"a CPU profile without a sample count: it measures {kinds}")
        count = kinds.index(("samples", "count"))
        total = sum(values[count] for values in rows)
        if total == 0:
            fail("the CPU profile has no samples: the run was too short to be seen")
        for values in rows:
            values[sources[0]] = values[count] * cpu_ns / total
    samples = []
    for sample, values in zip(profile.messages(P_SAMPLE), rows):
        scaled = [0 if source is None else round(values[source] * PER_CALLS / calls)
                  for source in sources]
        if not any(scaled):
            continue
        samples.append([(n, v) for n, v in sample if n != S_VALUE] + [packed(S_VALUE, scaled)])
    profile.replace(P_SAMPLE, samples)
    profile.replace(P_SAMPLE_TYPE, [[(1, profile.string(kind)), (2, profile.string(unit))]
                                    for kind, unit in SAMPLE_TYPES])
    # One period type for both kinds, or pprof will not load them together.
    period = [(1, profile.string("cpu")), (2, profile.string("nanoseconds"))]
    profile.fields = [(n, v) for n, v in profile.fields if n not in (11, P_COMMENT, P_DEFAULT_SAMPLE_TYPE)]
    profile.fields += [(11, encode(period)), packed(P_COMMENT, [profile.string(COMMENT)]),
                       (P_DEFAULT_SAMPLE_TYPE, profile.string("cpu"))]
    return len(samples), total


def prepare(program, raw_path, calls, cpu_seconds, out_path):
    """The cpu and heap subcommands. Returns 0."""
    if not calls.isdigit() or int(calls) < 1:
        fail(f"CALLS={calls}: want a whole number of calls from 1")
    try:
        cpu_ns = None if cpu_seconds is None else float(cpu_seconds) * 1e9
    except ValueError:
        fail(f"CPU-SECONDS={cpu_seconds}: want a number of seconds")
    profile = Profile(raw_path)
    named = prepare_code(profile, program, "cpu" if cpu_seconds is not None else "heap")
    stacks, samples = prepare_values(profile, int(calls), cpu_ns)
    profile.write(out_path)
    print(f"{out_path}: {stacks} stacks" + (f" from {samples:,} samples" if samples else "")
          + f", per {PER_CALLS:,} calls"
          + (f"; functions named from the symbols left in {', '.join(named)}" if named else ""))
    return 0


def main(argv):
    if len(argv) == 7 and argv[1] == "cpu":
        return prepare(*argv[2:])
    if len(argv) == 6 and argv[1] == "heap":
        return prepare(argv[2], argv[3], argv[4], None, argv[5])
    if len(argv) == 4 and argv[1] == "base":
        return as_base(argv[2], argv[3])
    print("usage: webprofile.py cpu PROGRAM RAW.pb.gz CALLS CPU-SECONDS OUT.pb.gz"
          " | heap PROGRAM RAW.pb.gz CALLS OUT.pb.gz | base IN.pb.gz OUT.pb.gz", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
