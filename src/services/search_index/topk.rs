//! The relevance index's exact top-k: the best `k` articles for a query without
//! scoring every match.
//!
//! A query matches an article when every token is in its title or in the rest;
//! its score is, per token, the BM25 of the title (weighted [`TITLE_BOOST`])
//! plus that of the rest, summed. Each (token, field) pair is a *clause* with
//! an upper bound: the highest score its postings can give in this segment
//! under today's statistics, from the (field length, frequency) pairs that occur
//! in them ([`Frontier`], cached per segment and term).
//!
//! Once `k` articles are held, the `k`-th score is a floor. An article without a
//! clause scores at most the sum of the other clauses' bounds; when that is
//! below the floor, the clause is *required* (MaxScore's rule, Turtle and Flood
//! 1995). Candidates are then the intersection of the required clauses'
//! postings instead of every match: for "oil prices" the articles with both
//! words in the title, a small part of those that mention both. The answer is
//! the same as ranking every match (a test compares them); scores are summed in
//! one order everywhere, so cursors compare exactly.
//!
//! Paging backward (the `k` ranked just above a cursor) has no floor to prune
//! with and takes every match.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use tantivy::fastfield::AliveBitSet;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::SegmentId;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::Bm25Weight;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, Term};

use super::{Hit, TITLE_BOOST};

/// Room for a bound per (segment, term): a few thousand queries' worth.
const CACHED_FRONTIERS: usize = 4096;
/// Bounds are sums of `f32`s taken in another order than the scores': a clause
/// is required only when the rest falls short of the floor by more than this.
const SLACK: Score = 1.0 + 1e-4;

/// For each field length (tantivy's one-byte code) that occurs in a term's
/// postings, the highest frequency with it: BM25 rises with the frequency and
/// falls with the length, so the best score under any statistics is one of these.
type Frontier = Arc<[(u8, u32)]>;

/// The frontiers of the terms searched lately, per segment (segments never
/// change; deletions only make a bound looser).
pub(super) struct Bounds(Mutex<LruCache<(SegmentId, Term), Frontier>>);

impl Default for Bounds {
    fn default() -> Self {
        Bounds(Mutex::new(LruCache::new(
            std::num::NonZeroUsize::new(CACHED_FRONTIERS).unwrap_or(std::num::NonZeroUsize::MIN),
        )))
    }
}

impl Bounds {
    /// The highest score `weight` gives any posting of `term` in `segment`.
    fn max(
        &self,
        segment: &SegmentReader,
        term: &Term,
        weight: &Bm25Weight,
    ) -> tantivy::Result<Score> {
        let key = (segment.segment_id(), term.clone());
        let cached = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let frontier = match cached {
            Some(f) => f,
            None => {
                let f = frontier(segment, term)?;
                self.0
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .put(key, f.clone());
                f
            }
        };
        Ok(frontier
            .iter()
            .map(|&(norm, tf)| weight.score(norm, tf))
            .fold(0.0, Score::max))
    }
}

/// One pass over `term`'s postings in `segment`.
fn frontier(segment: &SegmentReader, term: &Term) -> tantivy::Result<Frontier> {
    let field = term.field();
    let mut best = [0u32; 256];
    if let Some(mut postings) = segment
        .inverted_index(field)?
        .read_postings(term, IndexRecordOption::WithFreqs)?
    {
        let norms = segment.get_fieldnorms_reader(field)?;
        let mut doc = postings.doc();
        while doc != TERMINATED {
            let slot = &mut best[usize::from(norms.fieldnorm_id(doc))];
            *slot = (*slot).max(postings.term_freq());
            doc = postings.advance();
        }
    }
    Ok((0..=u8::MAX).zip(best).filter(|&(_, tf)| tf > 0).collect())
}

/// A ranking key: larger is better (backward, the negated score and id).
#[derive(Clone, Copy, PartialEq)]
struct Key(f64, i64);

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// The `k` largest keys offered.
struct Best {
    k: usize,
    heap: BinaryHeap<Reverse<Key>>,
}

impl Best {
    fn offer(&mut self, key: Key) -> bool {
        if self.heap.len() < self.k {
            self.heap.push(Reverse(key));
            true
        } else if self.heap.peek().is_some_and(|Reverse(low)| key > *low) {
            self.heap.pop();
            self.heap.push(Reverse(key));
            true
        } else {
            false
        }
    }

    /// The score a newcomer must reach (forward only), once `k` are held.
    fn floor(&self) -> Option<Score> {
        (self.heap.len() == self.k)
            .then(|| self.heap.peek().map(|Reverse(Key(s, _))| *s as Score))
            .flatten()
    }
}

/// A (token, field) pair in one segment: its postings, scored as tantivy's
/// term query scores them.
struct Clause {
    postings: SegmentPostings,
    norms: FieldNormReader,
    weight: Bm25Weight,
    token: usize,
    bound: Score,
}

impl Clause {
    fn doc(&self) -> DocId {
        self.postings.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.postings.seek(target)
    }

    fn score(&self) -> Score {
        self.weight.score(
            self.norms.fieldnorm_id(self.doc()),
            self.postings.term_freq(),
        )
    }
}

/// The best `limit` articles for `tokens` ranked after `after` (forward: below
/// it, best first; backward: above it, nearest first), as `SearchIndex::top`.
pub(super) fn top(
    searcher: &Searcher,
    fields: (Field, Field),
    bounds: &Bounds,
    tokens: &[String],
    after: Option<Hit>,
    backward: bool,
    limit: usize,
) -> tantivy::Result<Vec<Hit>> {
    let (hits, _scored) = top_counted(searcher, fields, bounds, tokens, after, backward, limit)?;
    Ok(hits)
}

/// [`top`], and how many documents it scored.
fn top_counted(
    searcher: &Searcher,
    (title, rest): (Field, Field),
    bounds: &Bounds,
    tokens: &[String],
    after: Option<Hit>,
    backward: bool,
    limit: usize,
) -> tantivy::Result<(Vec<Hit>, usize)> {
    let mut weights = Vec::with_capacity(tokens.len() * 2);
    for (i, t) in tokens.iter().enumerate() {
        for (field, boost) in [(title, TITLE_BOOST), (rest, 1.0)] {
            let term = Term::from_field_text(field, t);
            let weight =
                Bm25Weight::for_terms(searcher, std::slice::from_ref(&term))?.boost_by(boost);
            weights.push((i, term, weight));
        }
    }
    let keep = |score: Score, id: i64| -> Option<Key> {
        let (s, id) = (f64::from(score), id);
        match after {
            None => Some(if backward { Key(-s, -id) } else { Key(s, id) }),
            Some((a, i)) if backward => ((s, id) > (a, i64::from(i))).then_some(Key(-s, -id)),
            Some((a, i)) => ((s, id) < (a, i64::from(i))).then_some(Key(s, id)),
        }
    };
    let mut best = Best {
        k: limit.max(1),
        heap: BinaryHeap::new(),
    };
    let mut scored = 0;
    'segments: for segment in searcher.segment_readers() {
        let mut clauses = Vec::with_capacity(weights.len());
        for (token, term, weight) in &weights {
            let field = term.field();
            let Some(postings) = segment
                .inverted_index(field)?
                .read_postings(term, IndexRecordOption::WithFreqs)?
            else {
                continue;
            };
            clauses.push(Clause {
                postings,
                norms: segment.get_fieldnorms_reader(field)?,
                weight: weight.clone(),
                token: *token,
                bound: bounds.max(segment, term, weight)?,
            });
        }
        if (0..tokens.len()).any(|t| clauses.iter().all(|c| c.token != t)) {
            continue 'segments;
        }
        let ids = segment.fast_fields().i64("id")?.first_or_default_col(0);
        let alive = segment.alive_bitset();
        let mut scan = Scan::new(clauses, tokens.len(), !backward);
        scan.run(&mut best, alive, |doc, score| keep(score, ids.get_val(doc)))?;
        scored += scan.scored;
    }
    let mut found: Vec<Key> = best.heap.into_iter().map(|Reverse(k)| k).collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    let hits = found
        .into_iter()
        .map(|Key(s, id)| {
            let (s, id) = if backward { (-s, -id) } else { (s, id) };
            (s, i32::try_from(id).unwrap_or_default())
        })
        .collect();
    Ok((hits, scored))
}

/// One segment's walk: candidates from the intersection of groups of clauses,
/// each group a token's clauses (either may match) or one required clause.
struct Scan {
    clauses: Vec<Clause>,
    tokens: usize,
    total: Score,
    prune: bool,
    groups: Vec<Vec<usize>>,
    /// Per token, the score of the current candidate.
    sums: Vec<Score>,
    /// Candidates scored.
    scored: usize,
}

impl Scan {
    fn new(clauses: Vec<Clause>, tokens: usize, prune: bool) -> Self {
        let total = clauses.iter().map(|c| c.bound).sum();
        let mut scan = Scan {
            clauses,
            tokens,
            total,
            prune,
            groups: Vec::new(),
            sums: vec![0.0; tokens],
            scored: 0,
        };
        scan.regroup(None);
        scan
    }

    /// The groups under `floor`: a clause whose absence keeps an article below
    /// it is a group of its own (required); a token with none is one group of
    /// its clauses. The cheapest groups lead.
    fn regroup(&mut self, floor: Option<Score>) {
        let floor = floor.filter(|_| self.prune);
        let required = |c: &Clause| floor.is_some_and(|f| (self.total - c.bound) * SLACK < f);
        let mut groups = Vec::with_capacity(self.clauses.len());
        for t in 0..self.tokens {
            let of_token: Vec<usize> = (0..self.clauses.len())
                .filter(|&i| self.clauses[i].token == t)
                .collect();
            let must: Vec<usize> = of_token
                .iter()
                .copied()
                .filter(|&i| required(&self.clauses[i]))
                .collect();
            if must.is_empty() {
                groups.push(of_token);
            } else {
                groups.extend(must.into_iter().map(|i| vec![i]));
            }
        }
        let cost = |g: &Vec<usize>| -> u32 {
            g.iter()
                .map(|&i| self.clauses[i].postings.size_hint())
                .sum()
        };
        groups.sort_by_key(cost);
        self.groups = groups;
    }

    /// The first document at or after `target` in every group.
    fn align(&mut self, mut target: DocId) -> Option<DocId> {
        'again: loop {
            for g in &self.groups {
                let mut at = TERMINATED;
                for &i in g {
                    let s = &mut self.clauses[i];
                    if s.doc() < target {
                        s.seek(target);
                    }
                    at = at.min(s.doc());
                }
                if at == TERMINATED {
                    return None;
                }
                if at > target {
                    target = at;
                    continue 'again;
                }
            }
            return Some(target);
        }
    }

    /// Offers every candidate's key (`key`: `None` when the cursor excludes it)
    /// to `best`, regrouping as its floor rises.
    fn run(
        &mut self,
        best: &mut Best,
        alive: Option<&AliveBitSet>,
        key: impl Fn(DocId, Score) -> Option<Key>,
    ) -> tantivy::Result<()> {
        let mut floor = best.floor();
        self.regroup(floor);
        let mut target = 0;
        while let Some(doc) = self.align(target) {
            target = doc + 1;
            if alive.is_some_and(|a| a.is_deleted(doc)) {
                continue;
            }
            self.scored += 1;
            self.sums.iter_mut().for_each(|s| *s = 0.0);
            for c in &mut self.clauses {
                if c.doc() < doc {
                    c.seek(doc);
                }
                if c.doc() == doc {
                    self.sums[c.token] += c.score();
                }
            }
            let score: Score = self.sums.iter().sum();
            if let Some(k) = key(doc, score)
                && best.offer(k)
                && best.floor() != floor
            {
                floor = best.floor();
                self.regroup(floor);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
    use tantivy::schema::{FAST, INDEXED, Schema, TextFieldIndexing, TextOptions};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    use super::*;

    /// A corpus where a few words are common and most rare (as in real text),
    /// over several segments, with some documents deleted.
    fn corpus() -> (Index, Field, Field) {
        let mut schema = Schema::builder();
        let id = schema.add_i64_field("id", INDEXED | FAST);
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_index_option(IndexRecordOption::WithFreqs),
        );
        let title = schema.add_text_field("title", text.clone());
        let rest = schema.add_text_field("rest", text);
        let index = Index::create_in_ram(schema.build());
        let words: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
        let mut seed: u64 = 42;
        let mut next = move |n: usize| -> usize {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Skewed towards small numbers: common words.
            let r = ((seed >> 33) as f64) / f64::from(u32::MAX >> 1);
            ((r * r * r) * n as f64) as usize % n
        };
        let mut writer: IndexWriter<TantivyDocument> =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        for n in 0..6000i64 {
            let mut pick = |len: usize| -> String {
                (0..len)
                    .map(|_| words[next(words.len())].as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let (t, r) = (pick(2 + n as usize % 6), pick(5 + n as usize % 31));
            let mut doc = TantivyDocument::default();
            doc.add_i64(id, n);
            doc.add_text(title, &t);
            doc.add_text(rest, &r);
            writer.add_document(doc).unwrap();
            if n % 2000 == 1999 {
                writer.commit().unwrap();
            }
            if n % 97 == 0 {
                writer.delete_term(Term::from_field_i64(id, n / 2));
            }
        }
        writer.commit().unwrap();
        (index, title, rest)
    }

    fn queries() -> Vec<Vec<String>> {
        let w = |i: usize| format!("w{i}");
        let mut q = Vec::new();
        for i in 0..20 {
            q.push(vec![w(i)]);
            q.push(vec![w(i), w((i * 7 + 3) % 40)]);
        }
        for i in 0..10 {
            q.push(vec![w(i), w(i + 1), w(i + 2)]);
        }
        q
    }

    #[test]
    fn the_pruned_top_20_is_the_ranking_of_every_match() {
        let (index, title, rest) = corpus();
        let searcher = index.reader().unwrap().searcher();
        assert!(searcher.segment_readers().len() >= 3);
        let bounds = Bounds::default();
        let (mut matches, mut scored) = (0, 0);
        for tokens in queries() {
            let (mut every, _) = top_counted(
                &searcher,
                (title, rest),
                &bounds,
                &tokens,
                None,
                true,
                100_000,
            )
            .unwrap();
            every.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            // Forward pages of 20 by cursor, as the API pages.
            let mut after = None;
            for page in every.chunks(20).take(3) {
                let got =
                    top(&searcher, (title, rest), &bounds, &tokens, after, false, 20).unwrap();
                assert_eq!(got, page, "{tokens:?} after {after:?}");
                after = got.last().copied();
            }
            let (_, n) =
                top_counted(&searcher, (title, rest), &bounds, &tokens, None, false, 20).unwrap();
            (matches, scored) = (matches + every.len(), scored + n);
            // Two tokens or fewer: the same scores as tantivy's own boolean query.
            if tokens.len() <= 2 && !every.is_empty() {
                let term = |f: Field, t: &str| -> Box<dyn Query> {
                    Box::new(TermQuery::new(
                        Term::from_field_text(f, t),
                        IndexRecordOption::WithFreqs,
                    ))
                };
                let q = BooleanQuery::new(
                    tokens
                        .iter()
                        .map(|t| {
                            let either: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
                                (
                                    Occur::Should,
                                    Box::new(BoostQuery::new(term(title, t), TITLE_BOOST))
                                        as Box<dyn Query>,
                                ),
                                (Occur::Should, term(rest, t)),
                            ]));
                            (Occur::Must, either)
                        })
                        .collect(),
                );
                let theirs = searcher
                    .search(&q, &TopDocs::with_limit(every.len()).order_by_score())
                    .unwrap();
                let mut theirs: Vec<f32> = theirs.into_iter().map(|(s, _)| s).collect();
                theirs.sort_by(|a, b| b.total_cmp(a));
                let ours: Vec<f32> = every.iter().map(|(s, _)| *s as f32).collect();
                assert_eq!(ours, theirs, "{tokens:?}");
            }
        }
        // The first pages scored fewer than half the documents that matched
        // (on this corpus: about 41%; one- and two-word queries most of the gain).
        assert!(
            matches > 20_000 && scored * 2 < matches,
            "{scored} of {matches}"
        );
    }
}
