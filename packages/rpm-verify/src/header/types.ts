/** rpm header data types (rpmtag.h). NULL (0) is never valid in a package. */
export const HeaderType = {
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;
export type HeaderTypeCode = (typeof HeaderType)[keyof typeof HeaderType];

export function isHeaderType(value: number): value is HeaderTypeCode {
  return Number.isInteger(value) && value >= 1 && value <= 9;
}

/** Byte size of one element of a fixed-size type; 0 for the string types. */
export function elementSize(type: HeaderTypeCode): number {
  switch (type) {
    case HeaderType.CHAR:
    case HeaderType.INT8:
    case HeaderType.BIN:
      return 1;
    case HeaderType.INT16:
      return 2;
    case HeaderType.INT32:
      return 4;
    case HeaderType.INT64:
      return 8;
    case HeaderType.STRING:
    case HeaderType.STRING_ARRAY:
    case HeaderType.I18NSTRING:
      return 0;
  }
}

/** rpm aligns integer data to its size; everything else is byte-aligned. */
export function alignmentOf(type: HeaderTypeCode): number {
  const size = elementSize(type);
  return size === 0 ? 1 : size;
}
