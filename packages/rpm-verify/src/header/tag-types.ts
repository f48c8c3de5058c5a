import { HeaderType, type HeaderTypeCode } from './types.ts';

/**
 * The data type rpm 4.18 expects for each main-header tag it knows (the output of
 * `rpm -v --querytags`, tags 100 and 1000 up; test/tag-types.test.ts compares this table with
 * the installed rpm). rpm refuses a header in which a known tag has another type, so a package
 * we accept must not carry one either. Tags rpm does not know may have any type, as in rpm.
 */
const EXPECTED_TYPES: ReadonlyMap<number, HeaderTypeCode> = new Map(
  (
    [
      [
        HeaderType.STRING_ARRAY,
        [
          100, 1018, 1019, 1027, 1035, 1036, 1039, 1040, 1047, 1049, 1050, 1054, 1055, 1059, 1060,
          1061, 1062, 1065, 1066, 1067, 1081, 1082, 1085, 1086, 1087, 1088, 1089, 1090, 1091, 1092,
          1097, 1098, 1099, 1113, 1115, 1117, 1118, 1120, 1121, 1133, 1135, 1142, 1147, 1148, 1149,
          1150, 1153, 1154, 1156, 1157, 1159, 1160, 5000, 5001, 5002, 5005, 5006, 5007, 5010, 5030,
          5031, 5035, 5036, 5040, 5041, 5042, 5043, 5044, 5046, 5047, 5049, 5050, 5052, 5053, 5055,
          5056, 5058, 5059, 5060, 5061, 5066, 5067, 5069, 5071, 5076, 5077, 5079, 5081, 5086, 5087,
          5088, 5089, 5090, 5092, 5097,
        ],
      ],
      [
        HeaderType.STRING,
        [
          1000, 1001, 1002, 1007, 1010, 1011, 1014, 1015, 1020, 1021, 1022, 1023, 1024, 1025, 1026,
          1044, 1064, 1079, 1094, 1122, 1123, 1124, 1125, 1126, 1132, 1151, 1152, 1155, 1196, 5012,
          5013, 5014, 5015, 5016, 5034, 5062, 5096, 5098, 5099, 5100, 5101,
        ],
      ],
      [
        HeaderType.INT32,
        [
          1003, 1006, 1008, 1009, 1028, 1034, 1037, 1045, 1046, 1048, 1051, 1052, 1053, 1068, 1069,
          1080, 1095, 1096, 1106, 1112, 1114, 1116, 1119, 1127, 1128, 1129, 1134, 1140, 1141, 1143,
          1144, 1145, 1158, 1161, 1195, 5011, 5017, 5018, 5019, 5020, 5021, 5022, 5023, 5024, 5025,
          5026, 5027, 5032, 5033, 5037, 5045, 5048, 5051, 5054, 5057, 5068, 5070, 5072, 5078, 5080,
          5082, 5084, 5085, 5091, 5093,
        ],
      ],
      [
        HeaderType.I18NSTRING,
        [
          1004, 1005, 1016,
        ],
      ],
      [
        HeaderType.BIN,
        [
          1012, 1013, 1043, 1146,
        ],
      ],
      [
        HeaderType.CHAR,
        [
          1029,
        ],
      ],
      [
        HeaderType.INT16,
        [
          1030, 1033,
        ],
      ],
      [
        HeaderType.INT64,
        [
          5008, 5009,
        ],
      ],
    ] as const
  ).flatMap(([type, tags]) => tags.map((tag): [number, HeaderTypeCode] => [tag, type])),
);

/** The type rpm expects for `tag`, or undefined for a tag rpm does not know. */
export function expectedTagType(tag: number): HeaderTypeCode | undefined {
  return EXPECTED_TYPES.get(tag);
}

const STRING_CLASS: ReadonlySet<HeaderTypeCode> = new Set([HeaderType.STRING, HeaderType.STRING_ARRAY, HeaderType.I18NSTRING]);

/**
 * Whether an entry of `type` is one rpm accepts for `tag`: the expected type, or, for a string
 * tag, any of the three string types, in either direction (rpm's header check lets the string
 * class pass as a whole: rpmbuild itself writes the *PROG tags, string arrays in the table, as a
 * plain STRING when a scriptlet's interpreter has no arguments). CHAR and INT8 are distinct types
 * to rpm, as are all the numeric and binary types.
 */
export function tagTypeAccepted(tag: number, type: HeaderTypeCode): boolean {
  const expected = EXPECTED_TYPES.get(tag);
  return expected === undefined || expected === type || (STRING_CLASS.has(expected) && STRING_CLASS.has(type));
}
