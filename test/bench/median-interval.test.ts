import { describe, expect, it } from "vitest";
import { intervalVerdict, medianInterval } from "../../bench/stats";

const ranks = (n: number) => Array.from({ length: n }, (_, index) => index + 1);

describe("medianInterval", () => {
  it("takes the order statistics of the binomial tables (95 %: the 6th and 15th of 20, the 40th and 61st of 100)", () => {
    expect(medianInterval(ranks(20))).toEqual({ low: 6, high: 15 });
    expect(medianInterval(ranks(100))).toEqual({ low: 40, high: 61 });
    expect(medianInterval(ranks(20), 0.99)).toEqual({ low: 4, high: 17 });
  });

  it("widens to the whole sample when it is too small for the confidence asked, and sorts what it is given", () => {
    expect(medianInterval([3, 1, 5, 2, 4])).toEqual({ low: 1, high: 5 });
    expect(medianInterval([9, 1, 7, 3, 5, 8, 2, 6, 4, 10, 20, 11, 19, 12, 18, 13, 17, 14, 16, 15])).toEqual({ low: 6, high: 15 });
    expect(medianInterval([])).toEqual({ low: Number.NaN, high: Number.NaN });
  });
});

describe("intervalVerdict", () => {
  it("is ok only when the whole interval is within the target, MISS only when all of it is over", () => {
    expect(intervalVerdict({ low: 1.37, high: 1.42 }, 1.5)).toBe("ok");
    expect(intervalVerdict({ low: 1.45, high: 1.5 }, 1.5)).toBe("ok");
    expect(intervalVerdict({ low: 1.51, high: 1.57 }, 1.5)).toBe("MISS");
  });

  it("calls neither when the interval holds the target, whichever side the median is on", () => {
    expect(intervalVerdict({ low: 1.47, high: 1.53 }, 1.5)).toBe("too close to call");
    expect(intervalVerdict({ low: 1.5, high: 1.59 }, 1.5)).toBe("too close to call");
  });
});
