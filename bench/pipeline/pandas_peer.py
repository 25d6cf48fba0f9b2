#!/usr/bin/env python3
"""The pandas peer of the Go data stages, for the data-stage benchmark.

It does what the ingest, clean and normalize stages do, the pandas way, on
the same raw files: read each domain's published files (movielens-csv,
goodbooks, lastfm-hetrec, douban), clean the interactions, items and tags
(lib/clean) and fit and apply the scalers on meta-train users (lib/normalize),
then write the same six Parquet tables with pyarrow:

    OUT/clean/{interactions,items,tags}.parquet
    OUT/normalize/{interactions,items,scalers}.parquet

The rules it reproduces, so the timing compares equal work:
  * ingest's validity checks on values (rating scales, non-negative
    timestamps, play counts >= 1), user ids namespaced "<namespace>:<id>",
    line numbers of the published files, Last.fm play counts dated by the
    earliest day the user tagged the artist, item genres as ingest builds them;
  * clean: duplicates (domain, user, item) by params clean.duplicates
    ("latest": latest timestamp wins, a missing one is oldest, ties go to the
    later row; "first"; "sum"), drops of missing ids, non-finite values and
    non-positive ratings or counts, the one-pass minimum-activity filters,
    timestamps outside [1990, 2030) set to null; item and tag text fixed (UTF-8,
    NFC, whitespace collapsed, genres and tags lower-cased, repeats dropped);
  * normalize: users grouped by lib/split.Assigner (FNV-1a 64 over the
    8-byte little-endian seed and the user id, a splitmix64 finish, the top 53
    bits over 2^53), min-max of ratings and log1p + min-max of play counts
    fitted on meta-train users, item popularity as log1p of meta-train counts
    standard-scaled over the catalogue, published ratings counts likewise.

What it does not reproduce: ingest's per-row malformed-row accounting. The
numeric columns of the big files are parsed by pyarrow's CSV reader with fixed
dtypes, so a file with a malformed number fails the read instead of dropping
the row (the real and synthetic files have none), and numeric ids are
normalised to their decimal form ("007" would become "7"; no published file
has such ids). Text tables (movies, books, tags, artists) are decoded line by
line as UTF-8 with a latin-1 fallback, as ingest does.

Usage:
    pandas_peer.py run --params params.yaml --out DIR [--timings t.json]
    pandas_peer.py verify --params params.yaml --out DIR --go-root ROOT [--sample N]

run times each phase (read, clean, write_clean, normalize, write_normalize;
wall and CPU seconds) into --timings. verify, a separate process so that it
counts in neither time nor memory, compares DIR with the Go artifacts under
ROOT/artifacts: the same rows in the same order, normalised values within
1e-9, whole-column sums; it exits 1 on any difference.
"""

import argparse
import csv
import io
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import yaml  # PyYAML, installed with dvc (requirements.txt) through omegaconf

# Plausible timestamps, as lib/clean: [1990-01-01, 2030-01-01) UTC.
MIN_TIME, MAX_TIME = 631152000, 1893456000
TS_MISSING = np.iinfo(np.int64).min  # clean's "no timestamp": oldest
ROW_GROUP_ROWS = 1 << 17  # lib/artifact.RowGroupRows

# Go's unicode.IsSpace set (Python's str.split also splits on \x1c-\x1f).
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SPACE_RUN = f"[{GO_SPACE}]+"  # a str, so pandas hands it to pyarrow (RE2), not re
NO_GENRES = "(no genres listed)"


def load_params(path):
    with open(path, encoding="utf-8") as f:
        p = yaml.safe_load(f)
    root = os.environ.get("CROSSREC_DATA_ROOT") or p["data"]["root"]
    if not os.path.isabs(root):
        root = os.path.join(os.path.dirname(os.path.abspath(path)), root)
    p["data"]["root"] = root
    return p


# ---------------------------------------------------------------- reading


class Domain:
    """One domain's raw files resolved as lib/ingest resolves them."""

    ROLES = {
        "movielens-csv": {"ratings": ["ratings.csv"], "movies": ["movies.csv"], "tags": ["tags.csv"]},
        "goodbooks": {
            "ratings": ["ratings.csv", "ratings_random.csv"],
            "books": ["books.csv"],
            "tags": ["tags.csv"],
            "book_tags": ["book_tags.csv"],
        },
        "lastfm-hetrec": {
            "user_artists": ["user_artists.dat"],
            "artists": ["artists.dat"],
            "tags": ["tags.dat"],
            "user_taggedartists": ["user_taggedartists.dat"],
            "user_taggedartists_timestamps": ["user_taggedartists-timestamps.dat"],
        },
        "douban": {"ratings": ["ratings.dat"]},
    }

    def __init__(self, root, name, src):
        self.root, self.name, self.src = root, name, src
        self.format = src["format"]
        if self.format not in self.ROLES:
            sys.exit(f"pandas_peer: domain {name}: format {self.format} is not implemented by the peer")
        self.ns = (src.get("user_namespace") or name) + ":"

    def path(self, role):
        """Absolute path of a role's file, None when absent."""
        files = self.src.get("files") or {}
        if role in files:
            p = files[role]
            return p if os.path.isabs(p) else os.path.join(self.root, p)
        d = self.src["dir"]
        d = d if os.path.isabs(d) else os.path.join(self.root, d)
        for n in self.ROLES[self.format][role]:
            if os.path.exists(os.path.join(d, n)):
                return os.path.join(d, n)
        return None

    def rel(self, p):
        r = os.path.relpath(os.path.abspath(p), os.path.abspath(self.root))
        return p if r.startswith("..") else r.replace(os.sep, "/")


def decode_text(path):
    """A text file as ingest's lineReader sees it: UTF-8, a line that is not
    valid UTF-8 decoded as latin-1, a leading BOM dropped."""
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        out = []
        for line in raw.split(b"\n"):
            try:
                out.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(line.decode("latin-1"))
        text = "\n".join(out)
    return text.removeprefix("\ufeff")


def read_text_table(path, sep, header="infer", names=None):
    """A small text table, every field a string, quoting as the layout has it."""
    quoting = csv.QUOTE_MINIMAL if sep == "," else csv.QUOTE_NONE
    df = pd.read_csv(io.StringIO(decode_text(path)), sep=sep, dtype=str, keep_default_na=False,
                     na_filter=False, quoting=quoting, header=header, names=names, skip_blank_lines=True)
    df.columns = [c.strip() for c in df.columns]
    return df


def read_numeric(path, columns, header=True, sep=","):
    """A big all-numeric file with pyarrow's multithreaded CSV reader; the
    line number of each row is its position plus the header."""
    kw = dict(engine="pyarrow", sep=sep, dtype=columns)
    if not header:
        kw.update(header=None, names=list(columns))
    df = pd.read_csv(path, **kw)
    df = df[list(columns)]
    df["line"] = np.arange(len(df), dtype=np.int64) + (2 if header else 1)
    return df


def digits(s):
    return s.str.fullmatch(r"[0-9]+")


def split_genres(field, sep="|"):
    """ingest.splitGenres."""
    s = field.strip()
    if s in ("", NO_GENRES):
        return []
    return [p.strip() for p in s.split(sep) if p.strip() not in ("", NO_GENRES)]


def regroup(row, values, n):
    """Lists of values per row 0..n-1 from long (row, value) arrays sorted
    by row: the inverse of DataFrame.explode, without a Python-level groupby."""
    out = [[] for _ in range(n)]
    if len(row):
        cuts = np.flatnonzero(np.diff(row)) + 1
        for r, part in zip(row[np.r_[0, cuts]], np.split(np.asarray(values, dtype=object), cuts)):
            out[r] = part.tolist()
    return out


def ranked_names(tagged, n):
    """Genres of n items from (item index, tag name, count) rows: names by
    summed count, descending, ties by name (ingest.attachGenres)."""
    g = tagged.groupby(["book", "name"], sort=False)["count"].sum().reset_index()
    g = g.sort_values(["book", "count", "name"], ascending=[True, False, True], kind="stable")
    return regroup(g["book"].to_numpy(), g["name"].to_numpy(), n)


def constant(value, n):
    """A column holding one string n times, as a categorical (one byte a row)."""
    return pd.Categorical.from_codes(np.zeros(n, np.int8), [value])


def interactions_frame(dom, rel, users, items, values, kind, ts, lines):
    """The unified interaction columns of one file, ids as integer arrays."""
    n = len(users)
    return pd.DataFrame({"user": users, "item": items, "value": values.astype(np.float64),
                         "ts": ts, "line": lines, "kind": constant(kind, n), "source": constant(rel, n)})


def read_ratings(dom, path, cols, lo, hi, step, ts_col=None, header=True, sep=","):
    dtypes = {cols[0]: "int64", cols[1]: "int64", cols[2]: "float64"}
    if ts_col:
        dtypes[ts_col] = "int64"
    df = read_numeric(path, dtypes, header=header, sep=sep)
    v = df[cols[2]].to_numpy()
    ok = (v >= lo) & (v <= hi) & (np.trunc((v - lo) / step) == (v - lo) / step)
    ts = np.full(len(df), TS_MISSING, dtype=np.int64)
    if ts_col:
        ts = df[ts_col].to_numpy()
        ok &= ts >= 0
    if not ok.all():
        df, ts = df[ok], ts[ok]
    return interactions_frame(dom, dom.rel(path), df[cols[0]].to_numpy(), df[cols[1]].to_numpy(),
                              df[cols[2]].to_numpy(), "rating", ts, df["line"].to_numpy())


def item_rows(dom, ids, titles, creators, genres, avg, cnt, rel):
    n = len(ids)
    # Object columns, so a missing figure stays None (a float column would make it NaN).
    avg = pd.Series([None] * n if avg is None else avg, dtype=object)
    cnt = pd.Series([None] * n if cnt is None else cnt, dtype=object)
    return pd.DataFrame({"item": ids, "title": titles, "creators": creators, "genres": genres,
                         "avg_rating": avg.to_numpy(), "ratings_count": cnt.to_numpy(), "source": rel})


def read_movielens(dom):
    p = dom.path("movies")
    m = read_text_table(p, ",")
    m = m[digits(m["movieId"])]
    items = item_rows(dom, m["movieId"].to_numpy(), m["title"].to_numpy(),
                      [[] for _ in range(len(m))], [split_genres(g) for g in m["genres"]],
                      None, None, dom.rel(p))
    x = read_ratings(dom, dom.path("ratings"), ["userId", "movieId", "rating"], 0.5, 5, 0.5, ts_col="timestamp")
    tags = None
    if (p := dom.path("tags")) is not None:
        t = read_text_table(p, ",")
        t["line"] = np.arange(len(t), dtype=np.int64) + 2
        t["tag"] = t["tag"].map(lambda s: s.strip())
        ts = pd.to_numeric(t["timestamp"], errors="coerce")
        t = t[digits(t["userId"]) & digits(t["movieId"]) & (t["tag"] != "") & (ts >= 0)]
        tags = pd.DataFrame({"user": t["userId"].to_numpy(), "item": t["movieId"].to_numpy(),
                             "tag": t["tag"].to_numpy(), "ts": t["timestamp"].astype(np.int64).to_numpy(),
                             "source": dom.rel(p), "line": t["line"].to_numpy()})
    return x, items, tags


def parse_count(s):
    """ingest.parseCount: an integer, or "123.0"; None when empty."""
    s = s.strip()
    if s == "":
        return None
    v = float(s)
    return int(v)


def read_goodbooks(dom):
    p = dom.path("books")
    b = read_text_table(p, ",")
    b = b[digits(b["book_id"]) & digits(b["goodreads_book_id"])]
    avg = [float(s) if s.strip() else None for s in b["average_rating"]]
    cnt = [parse_count(s) for s in b["ratings_count"]]
    creators = [[n.strip() for n in a.split(",") if n.strip()] for a in b["authors"]]
    by_gr = pd.Series(np.arange(len(b)), index=b["goodreads_book_id"].to_numpy())
    by_gr = by_gr[~by_gr.index.duplicated(keep="first")]
    genres = [[] for _ in range(len(b))]
    tp, btp = dom.path("tags"), dom.path("book_tags")
    if tp is not None and btp is not None:
        names = read_text_table(tp, ",")
        names = names[digits(names["tag_id"]) & (names["tag_name"].str.strip() != "")]
        names = names.drop_duplicates("tag_id").set_index("tag_id")["tag_name"].str.strip()
        bt = read_text_table(btp, ",")
        bt = bt[digits(bt["goodreads_book_id"]) & digits(bt["tag_id"])]
        bt = bt[bt["goodreads_book_id"].isin(by_gr.index) & bt["tag_id"].isin(names.index)]
        tagged = pd.DataFrame({"book": by_gr.loc[bt["goodreads_book_id"]].to_numpy(),
                               "name": names.loc[bt["tag_id"]].to_numpy(),
                               "count": bt["count"].astype(np.int64).to_numpy()})
        genres = ranked_names(tagged, len(b))
    items = item_rows(dom, b["book_id"].to_numpy(), b["title"].to_numpy(), creators, genres, avg, cnt, dom.rel(p))
    x = read_ratings(dom, dom.path("ratings"), ["user_id", "book_id", "rating"], 1, 5, 1)
    return x, items, None


def read_lastfm(dom):
    names = read_text_table(dom.path("tags"), "\t")
    names = names[digits(names["tagID"]) & (names["tagValue"].str.strip() != "")]
    # Lookups go by integer id (the ids are canonical decimals).
    names = names.drop_duplicates("tagID")
    names = pd.Series(names["tagValue"].str.strip().to_numpy(object), index=names["tagID"].astype(np.int64).to_numpy())
    p = dom.path("artists")
    a = read_text_table(p, "\t")
    a["name"] = a["name"].str.strip()
    a = a[digits(a["id"]) & (a["name"] != "")]
    index = pd.Series(np.arange(len(a)), index=a["id"].astype(np.int64).to_numpy())
    index = index[~index.index.duplicated(keep="first")]
    # Tag assignments: the Tag rows, the artists' genres and the dates of the
    # play counts.
    tp, dated = dom.path("user_taggedartists_timestamps"), False
    if tp is None:
        tp, dated = dom.path("user_taggedartists"), True
    t = read_text_table(tp, "\t")
    t["line"] = np.arange(len(t), dtype=np.int64) + 2
    ok = digits(t["userID"]) & digits(t["artistID"]) & digits(t["tagID"])
    if dated:
        ok &= digits(t["day"]) & digits(t["month"]) & digits(t["year"]) & (t["year"].str.len() == 4)
        t = t[ok]
        when = pd.to_datetime(pd.DataFrame({"year": t["year"].astype(int), "month": t["month"].astype(int),
                                            "day": t["day"].astype(int)}), errors="coerce")
        ts = (when - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    else:
        t = t[ok]
        ts = pd.to_numeric(t["timestamp"], errors="coerce") // 1000
    t = t.assign(ts=ts, u=t["userID"].astype(np.int64), i=t["artistID"].astype(np.int64),
                 tid=t["tagID"].astype(np.int64))
    t = t[t["ts"].notna() & t["tid"].isin(names.index)]
    t = t.assign(ts=t["ts"].astype(np.int64), tag=names.reindex(t["tid"]).to_numpy())
    at = index.reindex(t["i"]).to_numpy()
    known = ~np.isnan(at)
    tagged = pd.DataFrame({"book": at[known].astype(np.int64), "name": t["tag"].to_numpy()[known], "count": 1})
    genres = ranked_names(tagged, len(a))
    items = item_rows(dom, a["id"].to_numpy(), a["name"].to_numpy(), [[n] for n in a["name"]], genres,
                      None, None, dom.rel(p))
    tags = pd.DataFrame({"user": t["userID"].to_numpy(), "item": t["artistID"].to_numpy(), "tag": t["tag"].to_numpy(),
                         "ts": t["ts"].to_numpy(), "source": dom.rel(tp), "line": t["line"].to_numpy()})
    first = t.groupby(["u", "i"])["ts"].min()
    # Play counts.
    p = dom.path("user_artists")
    x = read_numeric(p, {"userID": "int64", "artistID": "int64", "weight": "int64"}, sep="\t")
    x = x[x["weight"] >= 1]
    key = pd.MultiIndex.from_arrays([x["userID"].to_numpy(), x["artistID"].to_numpy()])
    ts = first.reindex(key).to_numpy()
    ts = np.where(np.isnan(ts), TS_MISSING, ts).astype(np.int64)
    inter = interactions_frame(dom, dom.rel(p), x["userID"].to_numpy(), x["artistID"].to_numpy(),
                               x["weight"].to_numpy(), "playcount", ts, x["line"].to_numpy())
    return inter, items, tags


def read_douban(dom):
    x = read_ratings(dom, dom.path("ratings"), ["user", "item", "rating"], 1, 5, 1, header=False, sep="\t")
    return x, None, None


READERS = {"movielens-csv": read_movielens, "goodbooks": read_goodbooks, "lastfm-hetrec": read_lastfm,
           "douban": read_douban}


# ---------------------------------------------------------------- clean


def text(s):
    """clean.Text on a Series: NFC, Go's whitespace runs collapsed, trimmed."""
    s = s.astype(str)
    return s.str.normalize("NFC").str.replace(SPACE_RUN, " ", regex=True).str.strip(" ")


def clean_lists(lists, lower):
    """clean.Genres (lower=True: lower-cased) and clean.Creators (kept as
    spelled, repeats up to case dropped) on a column of lists, vectorised:
    explode, fix the text, drop empties and repeats, regroup in order."""
    long = pd.Series(lists, dtype=object).explode().dropna()
    row = long.index.to_numpy()
    v = text(long)
    key = v.str.lower()
    if lower:
        v = key
    keep = ((v != "") & ~pd.DataFrame({"r": row, "k": key.to_numpy()}).duplicated().to_numpy()).to_numpy()
    return regroup(row[keep], v.to_numpy(object)[keep], len(lists))


def clean_interactions(x, cfg):
    """One domain's interactions: drops, duplicates, activity filters, times."""
    v = x["value"].to_numpy()
    keep = np.isfinite(v) & (v > 0)  # ratings and play counts alike must be positive
    x = x[keep] if not keep.all() else x
    rule = cfg["duplicates"]
    dup = x.duplicated(["user", "item"], keep=False).to_numpy()
    if dup.any():
        d = x[dup]
        if rule == "latest":  # latest timestamp, a missing one oldest, then later row
            d = d.sort_values(["user", "item", "ts", "line"], kind="stable")
            lose = d.duplicated(["user", "item"], keep="last")
        else:  # first and sum keep the first row
            lose = d.duplicated(["user", "item"], keep="first")
        if rule == "sum":
            sums = d.groupby(["user", "item"])["value"].transform("sum")
            x = x.copy()
            x.loc[d.index[~lose.to_numpy()], "value"] = sums[~lose.to_numpy()].to_numpy()
        x = x.drop(index=lose.index[lose.to_numpy()])
    # Activity filters, counted once over the kept rows (not iterated to a
    # k-core, and the item counts include rows the user filter drops, as in
    # lib/clean). A minimum of 1 keeps everything.
    keep = np.ones(len(x), dtype=bool)
    for col, least in (("user", cfg["min_user_interactions"]), ("item", cfg["min_item_interactions"])):
        if least > 1:
            keep &= (x.groupby(col)[col].transform("size") >= least).to_numpy()
    if not keep.all():
        x = x[keep]
    ts = x["ts"].to_numpy()
    bad = (ts != TS_MISSING) & ((ts < MIN_TIME) | (ts >= MAX_TIME))
    if bad.any():
        x = x.assign(ts=np.where(bad, TS_MISSING, ts))
    return x


def clean_items(items):
    items = items.assign(item=text(items["item"]))
    items = items[items["item"] != ""].drop_duplicates("item", keep="first")
    return items.assign(title=text(items["title"]), genres=clean_lists(items["genres"].tolist(), True),
                        creators=clean_lists(items["creators"].tolist(), False))


def clean_tags(t):
    """clean.cleanTags: a tag is a one-genre list (text fixes, lower case)."""
    t = t.assign(user=t["user"].str.strip(), item=t["item"].str.strip(), tag=text(t["tag"]).str.lower())
    t = t[(t["user"] != "") & (t["item"] != "") & (t["tag"] != "")]
    t = t.drop_duplicates(["user", "item", "tag"], keep="first")
    ts = t["ts"].to_numpy()
    return t.assign(ts=np.where((ts < MIN_TIME) | (ts >= MAX_TIME), TS_MISSING, ts))


# ---------------------------------------------------------------- normalize

FNV_OFFSET, FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


def unit(seed, users):
    """lib/split.Assigner.unit for an array of user id strings, vectorised
    over users: FNV-1a 64 of seed (8 bytes, little-endian) then the id bytes,
    splitmix64's finaliser, top 53 bits / 2^53. uint64 arithmetic wraps."""
    h = np.full(len(users), FNV_OFFSET, dtype=np.uint64)
    b = np.array([u.encode() for u in users], dtype=bytes)
    width = b.dtype.itemsize
    lens = np.char.str_len(b)
    mat = np.frombuffer(b.tobytes(), dtype=np.uint8).reshape(len(users), width) if len(users) else np.zeros((0, 1), np.uint8)
    with np.errstate(over="ignore"):
        for c in int(seed).to_bytes(8, "little"):
            h = (h ^ np.uint64(c)) * FNV_PRIME
        for j in range(width):
            m = lens > j
            h[m] = (h[m] ^ mat[m, j].astype(np.uint64)) * FNV_PRIME
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def stats(v):
    return dict(n=len(v), min=float(v.min()) if len(v) else 0.0, max=float(v.max()) if len(v) else 0.0,
                mean=float(v.mean()) if len(v) else 0.0, std=float(v.std()) if len(v) else 0.0)


def minmax(s, v):
    return np.full(len(v), 0.5) if s["max"] <= s["min"] else (v - s["min"]) / (s["max"] - s["min"])


def standard(s, v):
    return np.zeros(len(v)) if s["std"] == 0 else (v - s["mean"]) / s["std"]


# ---------------------------------------------------------------- writing


def ts_array(ts):
    return pa.array(ts, type=pa.int64(), mask=ts == TS_MISSING)


# Columns dictionary-encoded in the Parquet files: those lib/schema tags
# "dict" (dictionary-encoding every column, pyarrow's default, costs time on
# unique columns such as line numbers).
DICT_COLUMNS = ["domain", "user", "item", "kind", "source", "feature", "method", "fit_on"]


ITEM_SCHEMA = pa.schema([("domain", pa.string()), ("item", pa.string()), ("title", pa.string()),
                         ("creators", pa.list_(pa.string())), ("genres", pa.list_(pa.string())),
                         ("avg_rating", pa.float64()), ("ratings_count", pa.int64()), ("source", pa.string())])
TAG_SCHEMA = pa.schema([("domain", pa.string()), ("user", pa.string()), ("item", pa.string()), ("tag", pa.string()),
                        ("timestamp", pa.int64()), ("source", pa.string()), ("line", pa.int64())])


def write(path, tables, schema=None):
    """Write tables (one per domain) as one file; with none, an empty file
    of schema, as the Go stages write an empty artifact."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tables = [t for t in tables if t is not None] or [schema.empty_table()]
    use_dict = [c for c in tables[0].column_names if c in DICT_COLUMNS]
    with pq.ParquetWriter(path, tables[0].schema, compression="zstd", use_dictionary=use_dict) as w:
        for t in tables:
            w.write_table(t, row_group_size=ROW_GROUP_ROWS)


class Ids:
    """A domain's user and item ids factorised once: codes per row and the id
    strings per distinct id, shared by the writers and normalize."""

    def __init__(self, dom, x):
        self.ucodes, uids = pd.factorize(x["user"].to_numpy())
        self.icodes, iids = pd.factorize(x["item"].to_numpy())
        self.users = [dom.ns + str(u) for u in uids]
        self.items = [str(i) for i in iids]


def categorical(c):
    return pa.DictionaryArray.from_arrays(pa.array(c.cat.codes.to_numpy(np.int32)),
                                          pa.array(c.cat.categories.astype(str).tolist(), pa.string()))


def interaction_table(dom, x, ids, norm=None):
    """Arrow table of one domain's interactions, strings dictionary-encoded."""
    n = len(x)
    cols = {
        "domain": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([dom.name])),
        "user": pa.DictionaryArray.from_arrays(pa.array(ids.ucodes.astype(np.int32)), pa.array(ids.users, pa.string())),
        "item": pa.DictionaryArray.from_arrays(pa.array(ids.icodes.astype(np.int32)), pa.array(ids.items, pa.string())),
        "value": pa.array(x["value"].to_numpy()),
        "kind": categorical(x["kind"]),
        "timestamp": ts_array(x["ts"].to_numpy()),
        "source": categorical(x["source"]),
        "line": pa.array(x["line"].to_numpy()),
    }
    if norm is not None:
        cols["norm"] = pa.array(norm)
    return pa.table(cols)


def item_table(dom, it):
    return pa.table(schema=ITEM_SCHEMA, data={
        "domain": pa.array([dom.name] * len(it), pa.string()),
        "item": pa.array(it["item"].tolist(), pa.string()),
        "title": pa.array(it["title"].tolist(), pa.string()),
        "creators": pa.array(it["creators"].tolist(), pa.list_(pa.string())),
        "genres": pa.array(it["genres"].tolist(), pa.list_(pa.string())),
        "avg_rating": pa.array(it["avg_rating"].tolist(), pa.float64()),
        "ratings_count": pa.array(it["ratings_count"].tolist(), pa.int64()),
        "source": pa.array(it["source"].tolist(), pa.string()),
    })


def tag_table(dom, t):
    return pa.table(schema=TAG_SCHEMA, data={
        "domain": pa.array([dom.name] * len(t), pa.string()),
        "user": pa.array((dom.ns + t["user"]).to_numpy(object), pa.string()),
        "item": pa.array(t["item"].tolist(), pa.string()),
        "tag": pa.array(t["tag"].tolist(), pa.string()),
        "timestamp": ts_array(t["ts"].to_numpy()),
        "source": pa.array(t["source"].tolist(), pa.string()),
        "line": pa.array(t["line"].to_numpy()),
    })


# ---------------------------------------------------------------- main


def run(params, out, timings):
    clock, cpu = time.perf_counter(), time.process_time()

    def lap(name):  # wall seconds of the phase, and CPU seconds (all threads)
        nonlocal clock, cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        timings[name] = now - clock
        timings[name + "_cpu"] = now_cpu - cpu
        clock, cpu = now, now_cpu

    p = params
    root = p["data"]["root"]
    doms = [Domain(root, n, p["data"]["domains"][n]) for n in sorted(p["data"]["domains"])]

    # Read (ingest's work).
    raw = {d.name: READERS[d.format](d) for d in doms}
    lap("read")

    # Clean.
    clean = {}
    for d in doms:
        x, items, tags = raw.pop(d.name)
        x = clean_interactions(x, p["clean"])
        items = clean_items(items) if items is not None else None
        if tags is not None:
            tags = clean_tags(tags.assign(user=tags["user"].astype(str), item=tags["item"].astype(str)))
        clean[d.name] = (x, items, tags, Ids(d, x))
    lap("clean")
    write(os.path.join(out, "clean/interactions.parquet"),
          [interaction_table(d, clean[d.name][0], clean[d.name][3]) for d in doms])
    write(os.path.join(out, "clean/items.parquet"),
          [item_table(d, clean[d.name][1]) for d in doms if clean[d.name][1] is not None], ITEM_SCHEMA)
    write(os.path.join(out, "clean/tags.parquet"),
          [tag_table(d, clean[d.name][2]) for d in doms if clean[d.name][2] is not None], TAG_SCHEMA)
    lap("write_clean")

    # Normalize: users' groups, computed once per distinct namespaced user.
    sp = p["split"]
    norms, cat_tables, scalers = {}, [], []
    for d in doms:
        x, items, _, ids = clean[d.name]
        train = (unit(sp["seed"], ids.users) < sp["train"])[ids.ucodes]
        v = x["value"].to_numpy()
        norm = np.empty(len(x))
        for kind in pd.unique(x["kind"]):
            k = (x["kind"] == kind).to_numpy()
            log = kind == "playcount"
            pre = np.log1p(v) if log else v
            s = stats(pre[k & train])
            if s["n"] == 0:
                sys.exit(f"pandas_peer: domain {d.name} has no meta-train users with {kind} values")
            scalers.append(dict(domain=d.name, feature=kind, method="log1p-minmax" if log else "minmax",
                                fit_on="train users", **s))
            norm[k] = minmax(s, pre[k])
        norms[d.name] = norm
        # The catalogue: the published items, then items only rated, sorted by id text.
        tc = pd.Series(np.bincount(ids.icodes[train], minlength=len(ids.items)), index=ids.items)
        cat = items[["item", "avg_rating", "ratings_count"]] if items is not None else pd.DataFrame(
            {"item": pd.Series([], dtype=str), "avg_rating": [], "ratings_count": []})
        rated = pd.Series(ids.items, dtype=object)
        extra = rated[~rated.isin(cat["item"])]
        cat = pd.concat([cat, pd.DataFrame({"item": extra, "avg_rating": None, "ratings_count": None})])
        cat = cat.sort_values("item", kind="stable").reset_index(drop=True)
        count = tc.reindex(cat["item"]).fillna(0).to_numpy(np.int64)
        ps = stats(np.log1p(count.astype(np.float64)))
        scalers.append(dict(domain=d.name, feature="popularity", method="log1p-standard",
                            fit_on="catalogue, counts of train users", **ps))
        rc = pd.to_numeric(cat["ratings_count"], errors="coerce").to_numpy(np.float64)
        has_rc = ~np.isnan(rc) & (rc >= 0)
        rcz = np.full(len(cat), np.nan)
        if has_rc.any():
            rs = stats(np.log1p(rc[has_rc]))
            scalers.append(dict(domain=d.name, feature="ratings_count", method="log1p-standard",
                                fit_on="catalogue metadata", **rs))
            rcz[has_rc] = standard(rs, np.log1p(rc[has_rc]))
        avg = pd.to_numeric(cat["avg_rating"], errors="coerce").to_numpy(np.float64)
        avgn = np.full(len(cat), np.nan)
        rating = [s for s in scalers if s["domain"] == d.name and s["feature"] == "rating"]
        if rating:
            has = ~np.isnan(avg)
            avgn[has] = minmax(rating[0], avg[has])
        cat_tables.append(pa.table({
            "domain": pa.array([d.name] * len(cat), pa.string()), "item": pa.array(cat["item"].tolist(), pa.string()),
            "train_count": pa.array(count), "popularity_z": pa.array(standard(ps, np.log1p(count.astype(np.float64)))),
            "ratings_count_z": pa.array(rcz, mask=np.isnan(rcz)), "avg_rating_norm": pa.array(avgn, mask=np.isnan(avgn)),
        }))
    scalers.sort(key=lambda s: (s["domain"], s["feature"]))
    lap("normalize")
    write(os.path.join(out, "normalize/interactions.parquet"),
          [interaction_table(d, clean[d.name][0], clean[d.name][3], norms[d.name]) for d in doms])
    write(os.path.join(out, "normalize/items.parquet"), cat_tables)
    write(os.path.join(out, "normalize/scalers.parquet"), [pa.Table.from_pylist(scalers)])
    lap("write_normalize")


# ---------------------------------------------------------------- verify


def verify(out, go_root, sample, seed_params):
    """Compare the peer's tables with the Go artifacts; return the problems."""
    problems = []
    art = os.path.join(go_root, "artifacts")

    def read(path, columns=None):
        t = pq.read_table(path, columns=columns)
        return t.cast(pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                                 for f in t.schema]))

    def rows_at(path, idx, columns):
        """Rows idx of a file, reading only the row groups that hold them."""
        f = pq.ParquetFile(path)
        starts = np.cumsum([0] + [f.metadata.row_group(i).num_rows for i in range(f.num_row_groups)])
        parts = []
        for g in np.unique(np.searchsorted(starts, idx, side="right") - 1):
            t = f.read_row_group(int(g), columns=columns)
            sel = idx[(idx >= starts[g]) & (idx < starts[g + 1])] - starts[g]
            parts.append(t.take(pa.array(sel)).to_pandas())
        df = pd.concat(parts, ignore_index=True)
        for c in df.columns:
            if isinstance(df[c].dtype, pd.CategoricalDtype):
                df[c] = df[c].astype(str)
        return df

    exact = {"clean/interactions.parquet": ["domain", "user", "item", "value", "kind", "timestamp", "source", "line"],
             "normalize/interactions.parquet": ["domain", "user", "item", "value", "kind", "timestamp", "source", "line"]}
    for name, cols in exact.items():
        a, b = pq.ParquetFile(os.path.join(out, name)), pq.ParquetFile(os.path.join(art, name))
        if a.metadata.num_rows != b.metadata.num_rows:
            problems.append(f"{name}: {a.metadata.num_rows} rows, Go {b.metadata.num_rows}")
            continue
        n = a.metadata.num_rows
        if sample <= 0 or n <= sample:
            idx = np.arange(n)
        else:  # windows of 10,000 consecutive rows at seeded random places
            w = 10_000
            starts = np.random.default_rng(0).choice(n // w, size=max(sample // w, 1), replace=False) * w
            idx = np.concatenate([np.arange(s0, s0 + w) for s0 in np.sort(starts)])
        # Whole-file aggregates, column by column: a shifted or missing row
        # anywhere shows here even when the windows miss it.
        for col in ["value", "line"] + (["norm"] if name.startswith("normalize") else []):
            sa = pc.sum(pq.read_table(os.path.join(out, name), columns=[col])[col]).as_py()
            sb = pc.sum(pq.read_table(os.path.join(art, name), columns=[col])[col]).as_py()
            if not np.isclose(sa, sb, rtol=1e-9, atol=0):
                problems.append(f"{name}: sum of {col}: peer {sa!r}, Go {sb!r}")
        na = pq.read_table(os.path.join(out, name), columns=["timestamp"])["timestamp"].null_count
        nb = pq.read_table(os.path.join(art, name), columns=["timestamp"])["timestamp"].null_count
        if na != nb:
            problems.append(f"{name}: {na} null timestamps, Go {nb}")
        c = cols + (["norm"] if name.startswith("normalize") else [])
        x, y = rows_at(os.path.join(out, name), idx, c), rows_at(os.path.join(art, name), idx, c)
        for col in cols:
            eq = (x[col] == y[col]) | (x[col].isna() & y[col].isna())
            if not eq.all():
                i = int(np.argmax(~eq.to_numpy()))
                problems.append(f"{name}: column {col}: {int((~eq).sum())} of {len(idx)} compared rows differ, "
                                f"first at row {idx[i]}: peer {x[col].iloc[i]!r}, Go {y[col].iloc[i]!r}")
        if "norm" in c:
            d = np.abs(x["norm"].to_numpy() - y["norm"].to_numpy())
            if not (d <= 1e-9).all():
                problems.append(f"{name}: norm differs by up to {d.max():.3g} ({int((d > 1e-9).sum())} rows over 1e-9)")
            print(f"verify: {name}: {len(idx)} of {n} rows compared, max |norm diff| {d.max():.3g}")
        else:
            print(f"verify: {name}: {len(idx)} of {n} rows compared")

    # Small tables: every row.
    for name in ["clean/items.parquet", "clean/tags.parquet", "normalize/items.parquet", "normalize/scalers.parquet"]:
        x, y = read(os.path.join(out, name)).to_pandas(), read(os.path.join(art, name)).to_pandas()
        if len(x) != len(y):
            problems.append(f"{name}: {len(x)} rows, Go {len(y)}")
            continue
        for col in y.columns:
            if col not in x.columns:
                problems.append(f"{name}: column {col} missing")
                continue
            a, b = x[col], y[col]
            if a.dtype.kind == "f" or b.dtype.kind == "f":
                a, b = a.to_numpy(np.float64), b.to_numpy(np.float64)
                ok = np.isclose(a, b, rtol=1e-9, atol=1e-9) | (np.isnan(a) & np.isnan(b))
            elif a.dtype == object and len(a) and isinstance(a.iloc[0], (list, np.ndarray)):
                ok = np.array([list(u) == list(v) for u, v in zip(a, b)])
            else:
                ok = ((a == b) | (a.isna() & b.isna())).to_numpy()
            if not ok.all():
                i = int(np.argmax(~ok))
                problems.append(f"{name}: column {col}: {int((~ok).sum())} rows differ, first at row {i}: "
                                f"peer {x[col].iloc[i]!r}, Go {y[col].iloc[i]!r}")
        print(f"verify: {name}: all {len(x)} rows compared")

    # The user groups, against the split stage's when it ran.
    sp_path = os.path.join(art, "split/interactions.parquet")
    if os.path.exists(sp_path):
        g = read(sp_path, ["user", "group"]).to_pandas().drop_duplicates("user")
        sp = seed_params["split"]
        u = unit(sp["seed"], g["user"].tolist())
        mine = np.where(u < sp["train"], "train", np.where(u < sp["train"] + sp["valid"], "valid", "test"))
        bad = int((mine != g["group"].to_numpy()).sum())
        if bad:
            problems.append(f"user groups: {bad} of {len(g)} users differ from the split stage's")
        print(f"verify: user groups of {len(g)} users compared with split/interactions.parquet")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="read, clean, normalize, write")
    r.add_argument("--params", required=True)
    r.add_argument("--out", required=True, help="folder to write clean/ and normalize/ into")
    r.add_argument("--timings", help="write the phase timings (seconds) here as JSON")
    v = sub.add_parser("verify", help="compare the output of run with the Go artifacts")
    v.add_argument("--params", required=True)
    v.add_argument("--out", required=True, help="the folder run wrote")
    v.add_argument("--go-root", required=True, help="the Go run's root (its artifacts/ folder is compared)")
    v.add_argument("--sample", type=int, default=0,
                   help="rows of the interaction tables compared row by row, in windows of 10,000 (0: all)")
    a = ap.parse_args()
    params = load_params(a.params)
    if a.cmd == "run":
        timings = {}
        start, cpu = time.perf_counter(), time.process_time()
        run(params, a.out, timings)
        timings["total"] = time.perf_counter() - start
        timings["total_cpu"] = time.process_time() - cpu
        if a.timings:
            with open(a.timings, "w") as f:
                json.dump(timings, f, indent=1)
        print("pandas_peer: " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()), file=sys.stderr)
        return
    problems = verify(a.out, a.go_root, a.sample, params)
    for pr in problems:
        print("verify: MISMATCH " + pr, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("verify: the peer's output equals the Go artifacts", file=sys.stderr)


if __name__ == "__main__":
    main()
