/* mirror_kit's word search in the browser (see mirror_kit/search_words.py for the rule): split a
   text as SQLite FTS5's unicode61 tokenizer does, fold case and accents, and stem each word with a
   port of SQLite's Porter stemmer (fts5_tokenize.c), so the report matches what `journal.search`
   matches, and reads a query by the same grammar (mirror_kit.search_words.parse: caf*, "new job",
   -coffee / NOT coffee, race OR marathon). MK_STOP_WORDS, MK_UNIT (the grammar's unit pattern),
   MK_NO_WORD and MK_ONLY_EXCLUDED are defined before this file by
   mirror_kit.search_words.browser_js(). */
var mkSearchTerms, mkQueryTerms, mkSearchDoc, mkParseQuery;
(function () {
  var TOKEN = /[\p{L}\p{N}\p{Co}]+/gu;
  // accents dropped from Latin letters only, as unicode61's remove_diacritics 2 does
  function fold(s) {
    return String(s || "").normalize("NFD").replace(/(\p{Script=Latin})\p{M}+/gu, "$1").normalize("NFC").toLowerCase();
  }
  // SQLite stems a word's UTF-8 bytes: the stemmer below works on a string of one char per byte.
  function toBytes(s) { return unescape(encodeURIComponent(s)); }
  function fromBytes(b) { try { return decodeURIComponent(escape(b)); } catch (e) { return b; } }
  function isVowel(c, yIsVowel) { return c === "a" || c === "e" || c === "i" || c === "o" || c === "u" || (yIsVowel && c === "y"); }
  // Index just past the first vowel-consonant run of w[0..n) (0 when there is none).
  function gobbleVC(w, start, n, prevCons) {
    var i = start, cons = prevCons;
    for (; i < n; i++) { cons = !isVowel(w[i], cons); if (!cons) { break; } }
    for (i++; i < n; i++) { cons = !isVowel(w[i], cons); if (cons) { return i + 1; } }
    return 0;
  }
  function mGt0(w, n) { return gobbleVC(w, 0, n, false) !== 0; }
  function mGt1(w, n) { var k = gobbleVC(w, 0, n, false); return k !== 0 && gobbleVC(w, k, n, true) !== 0; }
  function mEq1(w, n) { var k = gobbleVC(w, 0, n, false); return k !== 0 && gobbleVC(w, k, n, true) === 0; }
  function oStar(w, n) {
    var last = w[n - 1];
    if (last === "w" || last === "x" || last === "y") { return false; }
    var mask = 0, cons = false;
    for (var i = 0; i < n; i++) { cons = !isVowel(w[i], cons); mask = (mask << 1) + (cons ? 1 : 0); }
    return (mask & 7) === 5;
  }
  function mGt1ST(w, n) { return (w[n - 1] === "s" || w[n - 1] === "t") && mGt1(w, n); }
  function hasVowel(w, n) { for (var i = 0; i < n; i++) { if (isVowel(w[i], i > 0)) { return true; } } return false; }
  // [suffix, condition (or null), replacement, reports a change]; the first suffix that matches (on a
  // longer word) decides, whether its condition holds or not: SQLite's generated switch does the same.
  var STEP1B = [["eed", mGt0, "ee", false], ["ed", hasVowel, "", true], ["ing", hasVowel, "", true]];
  var STEP1B2 = [["at", null, "ate", true], ["bl", null, "ble", true], ["iz", null, "ize", true]];
  var STEP2 = [["ational", mGt0, "ate"], ["tional", mGt0, "tion"], ["enci", mGt0, "ence"], ["anci", mGt0, "ance"],
    ["izer", mGt0, "ize"], ["logi", mGt0, "log"], ["bli", mGt0, "ble"], ["alli", mGt0, "al"], ["entli", mGt0, "ent"],
    ["eli", mGt0, "e"], ["ousli", mGt0, "ous"], ["ization", mGt0, "ize"], ["ation", mGt0, "ate"], ["ator", mGt0, "ate"],
    ["alism", mGt0, "al"], ["iveness", mGt0, "ive"], ["fulness", mGt0, "ful"], ["ousness", mGt0, "ous"],
    ["aliti", mGt0, "al"], ["iviti", mGt0, "ive"], ["biliti", mGt0, "ble"]];
  var STEP3 = [["ical", mGt0, "ic"], ["ness", mGt0, ""], ["icate", mGt0, "ic"], ["iciti", mGt0, "ic"],
    ["ful", mGt0, ""], ["ative", mGt0, ""], ["alize", mGt0, "al"]];
  var STEP4 = [["al", mGt1, ""], ["ance", mGt1, ""], ["ence", mGt1, ""], ["er", mGt1, ""], ["ic", mGt1, ""],
    ["able", mGt1, ""], ["ible", mGt1, ""], ["ant", mGt1, ""], ["ement", mGt1, ""], ["ment", mGt1, ""],
    ["ent", mGt1, ""], ["ion", mGt1ST, ""], ["ou", mGt1, ""], ["ism", mGt1, ""], ["ate", mGt1, ""],
    ["iti", mGt1, ""], ["ous", mGt1, ""], ["ive", mGt1, ""], ["ize", mGt1, ""]];
  // SQLite switches on the next-to-last letter, then tries that letter's suffixes in order.
  function apply(w, rules) {
    var n = w.length, pen = w[n - 2];
    for (var i = 0; i < rules.length; i++) {
      var r = rules[i], s = r[0];
      if (s[s.length - 2] !== pen) { continue; }
      if (n > s.length && w.slice(n - s.length) === s) {
        var stem = n - s.length;
        if (r[1] === null || r[1](w, stem)) { return [w.slice(0, stem) + r[2], r[3] === true]; }
        return [w, false];
      }
    }
    return [w, false];
  }
  function stem(word) {
    var w = toBytes(word);
    if (w.length > 64 || w.length < 3) { return word; }
    var n = w.length;
    if (w[n - 1] === "s") {  // step 1a
      if (w[n - 2] === "e") {
        w = ((n > 4 && w[n - 4] === "s" && w[n - 3] === "s") || (n > 3 && w[n - 3] === "i")) ? w.slice(0, n - 2) : w.slice(0, n - 1);
      } else if (w[n - 2] !== "s") { w = w.slice(0, n - 1); }
    }
    var r = apply(w, STEP1B);
    w = r[0];
    if (r[1]) {
      var r2 = apply(w, STEP1B2);
      w = r2[0];
      if (!r2[1]) {
        var c = w[w.length - 1];
        if (!isVowel(c, false) && c !== "l" && c !== "s" && c !== "z" && c === w[w.length - 2]) { w = w.slice(0, -1); }
        else if (mEq1(w, w.length) && oStar(w, w.length)) { w = w + "e"; }
      }
    }
    if (w[w.length - 1] === "y" && hasVowel(w, w.length - 1)) { w = w.slice(0, -1) + "i"; }  // step 1c
    w = apply(w, STEP2)[0];
    w = apply(w, STEP3)[0];
    w = apply(w, STEP4)[0];
    n = w.length;
    if (w[n - 1] === "e" && (mGt1(w, n - 1) || (mEq1(w, n - 1) && !oStar(w, n - 1)))) { w = w.slice(0, -1); }  // 5a
    n = w.length;
    if (n > 1 && w[n - 1] === "l" && w[n - 2] === "l" && mGt1(w, n - 1)) { w = w.slice(0, -1); }  // 5b
    return fromBytes(w);
  }
  function words(text) { return fold(text).match(TOKEN) || []; }
  var STOP = new Set(typeof MK_STOP_WORDS === "undefined" ? [] : MK_STOP_WORDS);
  mkSearchTerms = function (text) { return new Set(words(text).map(stem)); };
  // A query by the grammar of mirror_kit.search_words.parse, line for line: units are leading
  // dashes, then a quoted phrase (then `*`) or a run of non-blanks; OR / NOT / AND in capitals.
  function term(text, prefix) {
    var ws = words(text);
    if (!ws.length) { return null; }
    return {words: ws, prefix: prefix, stems: ws.map(stem)};
  }
  function key(t) { return (t.prefix ? "*" : "") + t.words.join(" "); }
  mkParseQuery = function (query) {
    var groups = [], excluded = [], negate = false, join = false, lastWanted = false;
    var unit = new RegExp(MK_UNIT, "gu"), m;
    while ((m = unit.exec(String(query || ""))) !== null) {
      var dashes = m[1], quoted = m[2], star = m[3], bare = m[4];
      if (bare !== undefined && !dashes && (bare === "OR" || bare === "NOT" || bare === "AND")) {
        if (bare === "NOT") { negate = true; join = false; } else if (bare === "OR") { join = lastWanted; } else { join = false; }
        continue;
      }
      var t = quoted !== undefined ? term(quoted, star === "*") : term(bare, /\*$/.test(bare));
      if (t === null) { continue; }
      if (dashes || negate) {
        if (!excluded.some(function (e) { return key(e) === key(t); })) { excluded.push(t); }
        lastWanted = false;
      } else if (join && groups.length) {
        var g = groups[groups.length - 1];
        if (!g.some(function (e) { return key(e) === key(t); })) { g.push(t); }
        lastWanted = true;
      } else {
        groups.push([t]);
        lastWanted = true;
      }
      negate = join = false;
    }
    var seen = new Set(), unique = [];
    groups.forEach(function (g) {
      var k = g.map(key).sort().join("|");
      if (!seen.has(k)) { seen.add(k); unique.push(g); }
    });
    // a lone common word is left out when something else is wanted
    var kept = unique.filter(function (g) { return !(g.length === 1 && g[0].words.length === 1 && !g[0].prefix && STOP.has(g[0].words[0])); });
    var q = {groups: kept.length ? kept : unique, excluded: excluded};
    q.error = q.groups.length ? null : (excluded.length ? MK_ONLY_EXCLUDED : MK_NO_WORD);
    q.matches = function (doc) {
      return q.groups.length > 0 && q.groups.every(function (g) { return g.some(function (t) { return holds(doc, t); }); })
        && !q.excluded.some(function (t) { return holds(doc, t); });
    };
    return q;
  };
  // What SQLite's index compares: a prefix is stemmed, then matched against the stems stored.
  function same(have, want, prefix) { return prefix ? have.slice(0, want.length) === want : have === want; }
  function holds(doc, t) {
    var n = t.stems.length;
    if (n === 1 && !t.prefix) { return doc.set.has(t.stems[0]); }
    return doc.seqs.some(function (seq) {
      for (var i = 0; i + n <= seq.length; i++) {
        var j = 0;
        while (j < n && same(seq[i + j], t.stems[j], t.prefix && j === n - 1)) { j++; }
        if (j === n) { return true; }
      }
      return false;
    });
  }
  // A reflection as the search compares it: each part (title, text) a sequence of stems, since a
  // phrase never runs from one part into the next, and the set of every stem.
  mkSearchDoc = function (parts) {
    var seqs = parts.map(function (p) { return words(p).map(stem); });
    var set = new Set();
    seqs.forEach(function (s) { s.forEach(function (w) { set.add(w); }); });
    return {seqs: seqs, set: set};
  };
  // the stems of the words a match must hold (every group's, flattened), as an Array
  mkQueryTerms = function (query) {
    var out = [];
    mkParseQuery(query).groups.forEach(function (g) { g.forEach(function (t) { t.stems.forEach(function (s) { out.push(s); }); }); });
    return Array.from(new Set(out));
  };
  if (typeof module !== "undefined") { module.exports = {stem: stem, mkSearchTerms: mkSearchTerms, mkQueryTerms: mkQueryTerms, mkSearchDoc: mkSearchDoc, mkParseQuery: mkParseQuery}; }
})();
