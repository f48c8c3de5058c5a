export { base256, concatBytes, octal, toBytes, zeros, type ByteInput } from './tar/bytes.ts';
export { archive, BLOCK, endMarker, headerSum, member, padding, ustarHeader, type HeaderFields, type MemberOptions } from './tar/header.ts';
export { gnuLongMember, paxHeader, paxRecord } from './tar/extensions.ts';
export { runProcess, type ProcessResult, type RunOptions, type StreamSource } from './harness/process.ts';
export { RECEIVER_BUNDLE, receive, verifyFiles, parseVerifyOutput, type ReceiveOptions, type VerifyLine } from './harness/receiver.ts';
export { captureRepoState, leftovers, type RepoState } from './harness/repo-state.ts';
export { GENERIC_CODES, judgeRejection, parseReply, rawControlProblems, type Judgement, type Reply } from './harness/judge.ts';
export { openCorpus, type CaseOptions, type CaseReport, type Corpus } from './harness/corpus.ts';
export { gnuTar, pythonTar } from './harness/tools.ts';
export { drip, endless, stallAfter } from './harness/senders.ts';
export {
  cString, headerBlob, HEADER_MAGIC, int32s, itemsOf, joinRpm, layoutHeader, LEAD_SIZE, rawHeaderBlob, readHeader, sigPaddingLength,
  sortItems, splitRpm, TYPE, type HeaderBlobFields, type IndexEntry, type Item, type RawHeader, type RpmParts,
} from './rpm/package.ts';
export { withFreshDigests } from './rpm/resign.ts';
