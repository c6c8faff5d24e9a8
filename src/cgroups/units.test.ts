import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { formatBytes, formatCpuList, hugepageSizeName, parseCount, parseCpuCount, parseCpuList, parseSize } from "./units.ts";


describe("parseSize", () => {
  const good: [string, number][] = [
    ["2g", 2147483648],
    ["512m", 536870912],
    ["0.5g", 536870912],
    ["1048576", 1048576],
    ["2GiB", 2147483648],
    ["2GB", 2147483648],
    ["64k", 65536],
    ["1.5K", 1536],
    ["100b", 100],
    ["1t", 1099511627776],
    [" 2g ", 2147483648],
  ];
  for (const [text, bytes] of good) {
    test(`${JSON.stringify(text)} is ${bytes} bytes`, () => {
      expect(parseSize(text, "--memory")).toBe(bytes);
    });
  }

  test("max and -1 mean unlimited (-1)", () => {
    expect(parseSize("max", "--memory")).toBe(-1);
    expect(parseSize("MAX", "--memory")).toBe(-1);
    expect(parseSize("-1", "--memory-swap")).toBe(-1);
  });

  test("a fraction of a byte is dropped, as go-units truncates", () => {
    expect(parseSize("0.9k", "--memory")).toBe(921);
  });

  for (const bad of ["2x", "-5", "", "1.2.3", "g", "2 g b", "0x10"]) {
    test(`${JSON.stringify(bad)} is refused with the flag name and the accepted form`, () => {
      const err = errorOf(() => parseSize(bad, "--memory"));
      expect(err.field).toBe("--memory");
      expect(err.message).toBe(`--memory: invalid size ${JSON.stringify(bad)}; use a size such as 512m, 2g, 0.5g, 1048576 or max`);
    });
  }

  test("without allowUnlimited, max is refused and not offered", () => {
    const err = errorOf(() => parseSize("max", "--shm-size", { allowUnlimited: false }));
    expect(err.message).toBe(`--shm-size: invalid size "max"; use a size such as 512m, 2g, 0.5g, 1048576`);
  });

  test("a size beyond 2^53 bytes is refused as too large", () => {
    expect(errorOf(() => parseSize("9000p", "--memory")).message).toBe(`--memory: size "9000p" is too large`);
  });
});

describe("parseCpuCount", () => {
  test("accepts decimals down to 5 places", () => {
    expect(parseCpuCount("2")).toBe(2);
    expect(parseCpuCount("0.5")).toBe(0.5);
    expect(parseCpuCount("1.00001")).toBe(1.00001);
  });

  for (const bad of ["0", "-1", "abc", "0.0", "1.123456", "", "1e3"]) {
    test(`${JSON.stringify(bad)} is refused naming --cpus`, () => {
      const err = errorOf(() => parseCpuCount(bad));
      expect(err.field).toBe("--cpus");
      expect(err.message).toBe(`--cpus: invalid CPU count ${JSON.stringify(bad)}; use a positive number such as 0.5, 1 or 2.25`);
    });
  }
});

describe("parseCount", () => {
  test("parses whole numbers and max when allowed", () => {
    expect(parseCount("100", "--pids-limit")).toBe(100);
    expect(parseCount("max", "--pids-limit", { allowUnlimited: true })).toBe(-1);
  });

  test("names the range when out of it", () => {
    expect(errorOf(() => parseCount("1", "--cpu-shares", { min: 2, max: 262144 })).message)
      .toBe(`--cpu-shares: invalid value "1"; use a whole number from 2 to 262144`);
    expect(errorOf(() => parseCount("max", "--pids-limit")).message).toBe(`--pids-limit: invalid value "max"; use a whole number ≥ 0`);
  });
});

describe("parseCpuList and formatCpuList", () => {
  test("expands ranges into sorted unique numbers", () => {
    expect(parseCpuList("0-2,5", "--cpuset-cpus")).toEqual([0, 1, 2, 5]);
    expect(parseCpuList("8,0-3,2", "--cpuset-cpus")).toEqual([0, 1, 2, 3, 8]);
    expect(parseCpuList(" 7 \n", "f")).toEqual([7]);
    expect(parseCpuList("", "f")).toEqual([]);
  });

  test("formats runs as ranges", () => {
    expect(formatCpuList([0, 1, 2, 5])).toBe("0-2,5");
    expect(formatCpuList([0, 2, 4])).toBe("0,2,4");
    expect(formatCpuList([3])).toBe("3");
    expect(formatCpuList([])).toBe("");
  });

  for (const list of ["0-3,8,10-11", "0", "1,3,5-7", "0-63"]) {
    test(`${list} round-trips`, () => {
      expect(formatCpuList(parseCpuList(list, "f"))).toBe(list);
    });
  }

  for (const bad of ["3-1", "a", "1-", "1,,2", "-1"]) {
    test(`${JSON.stringify(bad)} is refused naming the field`, () => {
      expect(errorOf(() => parseCpuList(bad, "linux.resources.cpu.cpus")).message)
        .toBe(`linux.resources.cpu.cpus: invalid list ${JSON.stringify(bad)}; use numbers and ranges such as 0-3,8`);
    });
  }
});

describe("hugepageSizeName", () => {
  test("names sizes as hugetlb files spell them", () => {
    expect(hugepageSizeName(2048)).toBe("2MB");
    expect(hugepageSizeName(1048576)).toBe("1GB");
    expect(hugepageSizeName(64)).toBe("64KB");
    expect(hugepageSizeName(32768)).toBe("32MB");
    expect(hugepageSizeName(16777216)).toBe("16GB");
    expect(hugepageSizeName(1536)).toBe("1536KB");
  });
});

describe("formatBytes", () => {
  const cases: [number, string][] = [
    [0, "0B"],
    [1, "1B"],
    [1023, "1023B"],
    [1024, "1KiB"],
    [1536, "1.5KiB"],
    [2147483648, "2GiB"],
    [536870912, "512MiB"],
    [1234567, "1.177MiB"],
    [1048064, "1024KiB"],
    [1e15, "909.5TiB"],
    [2 ** 63, "8EiB"],
  ];
  for (const [n, text] of cases) {
    test(`${n} prints as ${text}, like docker stats`, () => {
      expect(formatBytes(n)).toBe(text);
    });
  }
});
