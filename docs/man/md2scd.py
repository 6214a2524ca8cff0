#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Converts the Markdown subset of docs/uptane.conf.md to scdoc.

uptane.conf.md is printed by "uptane-primaryd --print-config-reference" and a
unit test keeps it equal to the table in src/primaryd/config.c, so the man
page is made from it at build time instead of being a second copy.
Handles: "# name(N)" title, "## " sections, paragraphs, "- " lists, pipe
tables (as term lists), ``` and indented blocks, ": " definitions, `code` and <!-- --> comments.

usage: md2scd.py IN.md OUT.scd
"""
import re
import sys


def escape(text):
    return text.replace('\\', '\\\\').replace('*', '\\*').replace('_', '\\_')


def inline(text):
    # `code` is bold; everything else is literal text.
    parts = re.split(r'(`[^`]*`)', text)
    out = []
    for p in parts:
        if p.startswith('`') and p.endswith('`') and len(p) >= 2:
            out.append('*' + escape(p[1:-1]) + '*')
        else:
            out.append(escape(p))
    return ''.join(out)


def cells(line):
    row = re.split(r'(?<!\\)\|', line.strip().strip('|'))
    return [c.strip().replace('\\|', '|') for c in row]


def cell(text):
    # A lone "-" would start a list.
    return '\\-' if text == '-' else inline(text)


def convert(lines):
    out = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i].rstrip('\n')
        if line.startswith('<!--'):
            while '-->' not in lines[i]:
                i += 1
            i += 1
            continue
        m = re.match(r'^# (\S+)\((\d)\)\s*$', line)
        if m and not out:
            out.append('%s(%s)' % (m.group(1), m.group(2)))
            out.append('')
            i += 1
            continue
        if line.startswith('### '):
            out.append('## ' + escape(line[4:].strip()))
            out.append('')
            i += 1
            continue
        if line.startswith('## '):
            title = line[3:].strip()
            # Sections named after an INI section stay as they are.
            out.append('# ' + (escape(title) if title.startswith('[') else escape(title.upper())))
            out.append('')
            i += 1
            continue
        if line.startswith('```'):
            out.append('```')
            i += 1
            while i < n and not lines[i].startswith('```'):
                out.append(lines[i].rstrip('\n'))
                i += 1
            out.append('```')
            i += 1
            continue
        if line.startswith('    ') and (not out or out[-1] == ''):
            # An indented code block.
            out.append('```')
            while i < n and (lines[i].startswith('    ') or
                             (not lines[i].strip() and i + 1 < n and lines[i + 1].startswith('    '))):
                out.append(lines[i].rstrip('\n')[4:])
                i += 1
            out.append('```')
            continue
        if line.startswith('|'):
            header = cells(line)
            i += 2  # the header and the |---| line
            while i < n and lines[i].startswith('|'):
                row = cells(lines[i])
                out.append(inline(row[0]))
                extra = ['%s: %s.' % (header[k], cell(row[k]).rstrip('.'))
                         for k in range(1, len(row) - 1)]
                if extra:
                    out.append('\t' + ' '.join(extra))
                if len(row) > 1:
                    out.append('\t' + cell(row[-1]))
                out.append('')
                i += 1
            continue
        if re.match(r'^:\s', line):
            # A definition: the body of the term on the line before.
            body = line[1:].strip()
            i += 1
            while i < n and lines[i].startswith('  ') and lines[i].strip():
                body += ' ' + lines[i].strip()
                i += 1
            out.append('\t' + inline(body))
            continue
        if line.startswith('- ') or line.startswith('* '):
            item = line[2:].strip()
            i += 1
            while i < n and lines[i].startswith('  ') and lines[i].strip():
                item += ' ' + lines[i].strip()
                i += 1
            out.append('- ' + inline(item))
            continue
        if [o for o in out if o][-1:] == ['# NAME'] and ': ' in line:
            # whatis wants "name - description".
            line = line.replace(': ', ' - ', 1)
        out.append(inline(line))
        i += 1
    # No blank line twice in a row, none at the end.
    text = re.sub(r'\n{3,}', '\n\n', '\n'.join(out)).strip('\n') + '\n'
    return text


def main():
    with open(sys.argv[1], encoding='utf-8') as f:
        lines = f.readlines()
    with open(sys.argv[2], 'w', encoding='utf-8') as f:
        f.write(convert(lines))


if __name__ == '__main__':
    main()
