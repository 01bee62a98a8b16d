"""Build the bundled registry of real people and artists from open data.

Sources (each read from a git checkout or bare mirror at a recorded commit; see
``policies/data/SOURCES.md`` for the licences):

* EveryPolitician (CC0): every legislature's ``names.csv`` (all spellings of each member, in
  every script) and ``ep-popolo-v1.0.json`` (birth and death dates, Wikidata ids);
* unitedstates/congress-legislators (CC0): current members of Congress and the executive;
* MoMA, Tate and the National Gallery of Art collection data (CC0): artists with birth and
  death years, and the NGA's alternative names;
* ``scripts/people/seed.yaml`` (written for hallmark): heads of state and government,
  entertainers, athletes, business leaders and living illustrators that the sources above do
  not hold, with their spellings in the languages of the policy.

One person in ten of every country (artists: of every nationality) is held out, chosen by a
hash of the source id, and written to ``bench/data/people_holdout.tsv.gz`` instead of the
registry, so that ``bench/policy_eval.py`` measures recall on names the registry never saw.

The registry is ``policies/data/people.tsv.gz``: one line per person or artist, with the match
keys already folded the way the prompt filter folds a prompt, so loading it costs no Unicode
work.  Names are facts; no prose is kept.

Run: ``python scripts/build_people.py --everypolitician GIT --congress GIT --moma GIT --tate GIT
--nga GIT [--words /usr/share/dict/words]``; ``--check`` compares instead of writing.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hallmark.guardrails._people import name_keys

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "scripts" / "people" / "seed.yaml"
OUT = REPO / "policies" / "data" / "people.tsv.gz"
HOLDOUT = REPO / "bench" / "data" / "people_holdout.tsv.gz"
LISTS = REPO / "policies" / "lists"
_BAD = re.compile(r"[0-9,;()\[\]@/\\\"?!:=<>_]")
_YEAR = re.compile(r"^-?(\d{3,4})")


@dataclass
class Entity:
    kind: str  # P person, A artist
    source_id: str
    country: str
    names: list[str] = field(default_factory=list)
    born: int | None = None
    died: int | None = None
    common: set[str] = field(default_factory=set)
    seed: bool = False

    def add(self, name: str) -> None:
        name = " ".join(unicodedata.normalize("NFC", name).split())
        if name and name not in self.names:
            self.names.append(name)


class Git:
    """Files of a git checkout or bare mirror at one commit."""

    def __init__(self, path: Path) -> None:
        self.dir = path / ".git" if (path / ".git").exists() else path
        self.commit = self._run("rev-parse", "HEAD").strip()

    def _run(self, *args: str) -> str:
        run = subprocess.run(["git", "--git-dir", str(self.dir), *args], capture_output=True, check=False)
        if run.returncode != 0:
            sys.exit(f"git {' '.join(args)} failed in {self.dir}: {run.stderr.decode().strip()}")
        return run.stdout.decode("utf-8-sig")

    def files(self) -> list[str]:
        return self._run("ls-tree", "-r", "--name-only", self.commit).splitlines()

    def read(self, path: str) -> str | None:
        run = subprocess.run(
            ["git", "--git-dir", str(self.dir), "show", f"{self.commit}:{path}"],
            capture_output=True,
            check=False,
        )
        return run.stdout.decode("utf-8-sig") if run.returncode == 0 else None

    def read_at(self, path: str, *, min_size: int) -> tuple[str, str]:
        """The newest version of ``path`` that is real content (older MoMA commits hold the CSV
        itself; newer ones hold a Git LFS pointer)."""
        log = self._run("log", "--format=%H", self.commit, "--", path).split()
        for commit in log:
            text = subprocess.run(
                ["git", "--git-dir", str(self.dir), "show", f"{commit}:{path}"],
                capture_output=True,
                check=False,
            ).stdout
            if len(text) >= min_size:
                return text.decode("utf-8-sig"), commit
        sys.exit(f"no version of {path} with content in {self.dir}")


def _year(value: object) -> int | None:
    m = _YEAR.match(str(value or "").strip())
    year = int(m.group(1)) if m else 0
    return year or None


def _usable(name: str) -> bool:
    return 3 <= len(name) <= 60 and not _BAD.search(name)


def everypolitician(git: Git) -> list[Entity]:
    people: dict[str, Entity] = {}
    by_wikidata: dict[str, str] = {}
    for path in git.files():
        parts = path.split("/")
        if len(parts) != 4 or parts[0] != "data" or parts[3] != "names.csv":
            continue
        country = parts[1]
        facts: dict[str, dict] = {}
        popolo = git.read(f"data/{parts[1]}/{parts[2]}/ep-popolo-v1.0.json")
        if popolo:
            for p in json.loads(popolo).get("persons", []):
                facts[p["id"]] = p
        text = git.read(path) or ""
        for row in csv.DictReader(io.StringIO(text)):
            pid, name = row.get("id", ""), row.get("name", "")
            if not pid or not name:
                continue
            fact = facts.get(pid, {})
            qid = next(
                (i["identifier"] for i in fact.get("identifiers", []) if i.get("scheme") == "wikidata"), ""
            )
            key = by_wikidata.setdefault(qid, pid) if qid else pid
            entity = people.get(key)
            if entity is None:
                entity = people[key] = Entity("P", f"ep:{key}", country)
            entity.born = entity.born or _year(fact.get("birth_date"))
            entity.died = entity.died or _year(fact.get("death_date"))
            if _usable(name):
                entity.add(name)
    return list(people.values())


def congress(git: Git) -> list[Entity]:
    out = []
    for path in ("legislators-current.yaml", "executive.yaml"):
        for row in yaml.safe_load(git.read(path) or "[]"):
            name = row.get("name", {})
            entity = Entity(
                "P",
                f"us:{row['id'].get('bioguide') or row['id'].get('govtrack')}",
                "United_States_of_America",
            )
            for n in (name.get("official_full"), f"{name.get('first', '')} {name.get('last', '')}"):
                if n and _usable(n):
                    entity.add(n)
            if name.get("nickname"):
                entity.add(f"{name['nickname']} {name.get('last', '')}")
            entity.born = _year(row.get("bio", {}).get("birthday"))
            out.append(entity)
    return out


def _forward(name: str) -> str:
    """'Vermeer, Johannes' -> 'Johannes Vermeer'."""
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        return f"{first} {last}"
    return name


def artists(moma: Git, tate: Git, nga: Git) -> tuple[list[Entity], dict[str, str]]:
    commits = {}
    found: list[Entity] = []
    text, commits["moma"] = moma.read_at("Artists.csv", min_size=100_000)
    for row in csv.DictReader(io.StringIO(text)):
        e = Entity("A", f"moma:{row['ConstituentID']}", row.get("Nationality") or "unknown")
        e.add(row["DisplayName"])
        e.born, e.died = _year(row.get("BeginDate")), _year(row.get("EndDate"))
        found.append(e)
    commits["tate"] = tate.commit
    for row in csv.DictReader(io.StringIO(tate.read("artist_data.csv") or "")):
        place = (row.get("placeOfBirth") or "").split(",")[-1].strip() or "unknown"
        e = Entity("A", f"tate:{row['id']}", place)
        e.add(_forward(row["name"]))
        e.born, e.died = _year(row.get("yearOfBirth")), _year(row.get("yearOfDeath"))
        found.append(e)
    commits["nga"] = nga.commit
    alt: dict[str, list[str]] = defaultdict(list)
    for row in csv.DictReader(io.StringIO(nga.read("data/constituents_altnames.csv") or "")):
        alt[row["constituentid"]].append(row.get("forwarddisplayname") or _forward(row["displayname"]))
    for row in csv.DictReader(io.StringIO(nga.read("data/constituents.csv") or "")):
        if (
            row.get("constituenttype") not in ("individual", "corporate")
            or row["forwarddisplayname"] == "Anonymous"
        ):
            continue
        e = Entity("A", f"nga:{row['constituentid']}", row.get("nationality") or "unknown")
        e.add(row["forwarddisplayname"])
        for a in alt.get(row["constituentid"], []):
            e.add(a)
        e.born, e.died = _year(row.get("beginyear")), _year(row.get("endyear"))
        found.append(e)
    # One artist held by several museums: merged on the folded display name and birth year.
    merged: dict[tuple[str, int | None], Entity] = {}
    for e in found:
        e.names = [n for n in e.names if _usable(n)]
        if not e.names:
            continue
        keys = name_keys(e.names[0])
        key = (keys[-1][1] if keys else e.names[0], e.born)
        if key in merged:
            m = merged[key]
            for n in e.names:
                m.add(n)
            m.died = m.died or e.died
        else:
            merged[key] = e
    return list(merged.values()), commits


def seed(words: set[str]) -> list[Entity]:
    data = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    out = []
    # The seed's artists are named as style tags ("castle, greg rutkowski"): kind T, whose name
    # alone invokes the style.
    for kind, section in (("P", "people"), ("T", "artists")):
        for i, row in enumerate(data[section]):
            e = Entity(kind, f"seed:{section}:{i}", row.get("country", "unknown"), seed=True)
            for n in row["names"]:
                e.add(str(n))
            e.born, e.died = row.get("born"), row.get("died")
            e.common = set(row.get("common", []))
            out.append(e)
    # The project's earlier hand lists: living people and artists, kept as seeds where the
    # entries above do not already name them.
    known = {key for e in out for n in e.names for _, key in name_keys(n)}
    for kind, file in (("P", "public_figures.txt"), ("T", "artists.txt")):
        for line in (LISTS / file).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and not {k for _, k in name_keys(line)} & known:
                e = Entity(kind, f"seed:{file}:{line}", "unknown", seed=True)
                e.add(line)
                if line.isascii() and " " not in line and line in words:
                    e.common.add(line)
                out.append(e)
    return out


ROLES = REPO / "scripts" / "people" / "roles.yaml"
ROLES_OUT = LISTS / "people.roles.txt"


def roles() -> str:
    """``policies/lists/people.roles.txt``: every role phrase of ``scripts/people/roles.yaml``."""
    lines = [
        "# Roles that name one living person: generated by scripts/build_people.py from",
        "# scripts/people/roles.yaml (written for hallmark); do not edit.",
    ]
    for language, table in yaml.safe_load(ROLES.read_text(encoding="utf-8")).items():
        phrases: list[str] = []
        for pattern in table.get("patterns", []):
            for title in table["titles"]:
                fills = (
                    [{"title": title, "place": p} for p in table.get("places", [])]
                    if "{place}" in pattern
                    else []
                )
                if "{adjective}" in pattern:
                    fills = [{"title": title, "adjective": a} for a in table.get("adjectives", [])]
                phrases += [pattern.format(**f) for f in fills]
        phrases += table.get("phrases", [])
        lines.append(f"# {language}")
        lines += sorted(dict.fromkeys(phrases))
    return "\n".join(lines) + "\n"


def held_out(e: Entity) -> bool:
    return not e.seed and int(hashlib.sha256(e.source_id.encode()).hexdigest(), 16) % 10 == 0


def _script(name: str) -> str:
    for ch in name:
        if not ch.isalpha():
            continue
        n = unicodedata.name(ch, "")
        for script in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "CYRILLIC", "ARABIC", "DEVANAGARI", "GREEK"):
            if n.startswith(script):
                return {"HIRAGANA": "KANA", "KATAKANA": "KANA"}.get(script, script).lower()
    return "latin"


def everyday_words(entities: list[Entity], words: set[str]) -> list[str]:
    """Everyday words that are nobody's surname in the sources ("river", "opera"): after a given
    name they make a place or a thing ("Charles River", "Sydney Opera House"), not a person."""
    surnames: dict[str, int] = defaultdict(int)
    for e in entities:
        for name in e.names[:1]:
            keys = [k for kind, k in name_keys(name) if kind == "L"]
            if keys and len(keys[0].split()) >= 2:
                surnames[keys[0].split()[-1]] += 1
    return sorted(w for w in words if w.isalpha() and w.isascii() and len(w) >= 3 and surnames.get(w, 0) < 2)


def given_names(entities: list[Entity], words: set[str]) -> tuple[set[str], list[str]]:
    """First words of Latin names: every one (an artist's surname that is also someone's given
    name cannot name the artist alone), and those of at least three people that are not everyday
    words (shipped as ``G`` lines: a capitalised known given name before a capitalised word reads
    as a person's name even when the person is not in the registry)."""
    counts: dict[str, int] = defaultdict(int)
    every: set[str] = set()
    for e in entities:
        firsts = set()
        for name in e.names:
            for kind, key in name_keys(name):
                tokens = key.split()
                if kind in "LN" and len(tokens) >= 2:
                    every.add(tokens[0])
                    if name.split()[0][:1].isupper() and not name.split()[0].isupper():
                        firsts.add(tokens[0])
        if e.kind == "P" and not held_out(e):
            for first in firsts:
                counts[first] += 1
    shipped = sorted(
        k for k, n in counts.items() if n >= 3 and len(k) >= 3 and k.isalpha() and k not in words
    )
    return every, shipped


def encode(e: Entity, words: set[str], firsts: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
    """One registry line: kind, born, died, country, display name, keys (``L``atin tokens,
    ``N``ative-script tokens, ``C``JK characters, an artist's ``S``urname; ``!`` marks an alias that is also an everyday
    word).  Latin aliases of one word are kept only from the seeds."""
    keys: list[str] = []
    for name in e.names:
        for kind, key in name_keys(name):
            tokens = key.split()
            if kind in "LN" and len(tokens) < 2 and not e.seed:
                continue
            if kind == "C" and len(key) < 3 and not e.seed:
                continue
            common = name in e.common or (kind == "L" and all(t in words for t in tokens))
            entry = f"{kind}{'!' if common else ''}{key}"
            if entry not in keys:
                keys.append(entry)
    # An artist's surname alone ("in the style of Vermeer"), unless it is an everyday word.
    surname = name_keys(e.names[0])[-1][1].split()[-1] if e.kind in "AT" and name_keys(e.names[0]) else ""
    if (
        len(surname) >= 5
        and surname.isalpha()
        and surname not in words
        and surname not in firsts
        and len(e.names[0].split()) >= 2
    ):
        keys.append(f"S{surname}")
    if not keys:
        return None
    fields = [
        e.kind,
        str(e.born or ""),
        str(e.died or ""),
        e.country.replace("\t", " "),
        e.names[0],
        "|".join(keys),
    ]
    return "\t".join(fields)


def build(args: argparse.Namespace) -> tuple[bytes, bytes, dict[str, object]]:
    words = set()
    if args.words:
        words = {
            w.strip() for w in args.words.read_text(encoding="utf-8").splitlines() if w.strip().islower()
        }
    ep, us, moma, tate, nga = (
        Git(p) for p in (args.everypolitician, args.congress, args.moma, args.tate, args.nga)
    )
    entities = everypolitician(ep) + congress(us)
    art, art_commits = artists(moma, tate, nga)
    entities += art + seed(words)
    kept: list[str] = []
    holdout: list[str] = []
    counts: dict[str, int] = defaultdict(int)
    shipped_keys: set[str] = set()
    held: list[Entity] = []
    firsts, given = given_names(entities, words)
    for e in entities:
        if held_out(e):
            held.append(e)
            continue
        line = encode(e, words, firsts)
        if line is None:
            continue
        kept.append(line)
        counts["artists" if e.kind in "AT" else "people"] += 1
        shipped_keys.update(k.lstrip("LNC!") for k in line.rsplit("\t", 1)[1].split("|") if k[0] != "S")
    for e in held:
        for name in e.names:
            keys = [k for _, k in name_keys(name)]
            # A held-out name that is also a shipped person's name measures nothing.
            if (
                not keys
                or any(k in shipped_keys for k in keys)
                or len(keys[0].split()) < 2
                and "C" not in name_keys(name)[0][0]
            ):
                continue
            status = "living" if not e.died else "deceased"
            holdout.append("\t".join((e.kind, e.country, _script(name), status, str(e.died or ""), name)))
    kept.sort()
    kept += [f"G\t{g}" for g in given]
    kept += [f"W\t{w}" for w in everyday_words(entities, words)]
    holdout.sort()
    meta = {
        "everypolitician": ep.commit,
        "congress-legislators": us.commit,
        **{f"{k} artists": v for k, v in art_commits.items()},
        **counts,
        "held out": len(held),
        "given names": len(given),
    }
    header = (
        "# hallmark people registry; built by scripts/build_people.py; sources and licences: SOURCES.md\n"
    )
    body = header + "".join(f"{line}\n" for line in kept)
    hold = "kind\tcountry\tscript\tstatus\tdied\tname\n" + "".join(f"{line}\n" for line in holdout)
    return _gzip(body), _gzip(hold), meta


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("everypolitician", "congress", "moma", "tate", "nga"):
        parser.add_argument(
            f"--{name}", type=Path, required=True, help=f"git checkout or mirror of the {name} data"
        )
    parser.add_argument(
        "--words", type=Path, help="a word list (e.g. /usr/share/dict/words): marks everyday words"
    )
    parser.add_argument("--check", action="store_true", help="compare with the bundled file, write nothing")
    args = parser.parse_args()
    registry, holdout, meta = build(args)
    if args.check:
        if not ROLES_OUT.is_file() or ROLES_OUT.read_text(encoding="utf-8") != roles():
            sys.exit(f"out of date: {ROLES_OUT.relative_to(REPO)} (run scripts/build_people.py)")
        if not OUT.is_file() or gzip.decompress(OUT.read_bytes()) != gzip.decompress(registry):
            sys.exit(f"out of date: {OUT.relative_to(REPO)} (run scripts/build_people.py)")
        print("registry up to date")
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    HOLDOUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(registry)
    ROLES_OUT.write_text(roles(), encoding="utf-8")
    HOLDOUT.write_bytes(holdout)
    for key, value in meta.items():
        print(f"{key}: {value}")
    print(f"wrote {OUT.relative_to(REPO)} ({len(registry):,} bytes) and {HOLDOUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
