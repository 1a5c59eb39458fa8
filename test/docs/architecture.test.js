'use strict';

// The architecture picture stays true: every unit it names exists (lib/<unit>.js or
// native/<folder>/<unit>.{hpp,cpp}), every native folder's units are all in it, and the
// committed SVG is what scripts/architecture-svg.js draws from docs/architecture.json.

const fs = require('fs');
const path = require('path');
const { render } = require('../../scripts/architecture-svg');

const ROOT = path.join(__dirname, '..', '..');
const model = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'architecture.json'), 'utf8'));

const nativeBoxes = model.boxes.filter((b) => b.title.startsWith('native/'));
const folderOf = (box) => box.title.split(' ')[0].replace(/\/$/, '');

test('every unit in the picture exists', () => {
  for (const box of model.boxes) {
    for (const unit of box.units) {
      if (box.title === 'lib/') {
        expect({ unit, exists: fs.existsSync(path.join(ROOT, 'lib', `${unit}.js`)) }).toEqual({ unit, exists: true });
      } else if (box.title.startsWith('native/')) {
        const base = path.join(ROOT, folderOf(box), unit);
        const exists = fs.existsSync(`${base}.hpp`) || fs.existsSync(`${base}.cpp`);
        expect({ unit: `${folderOf(box)}/${unit}`, exists }).toEqual({ unit: `${folderOf(box)}/${unit}`, exists: true });
      }
    }
  }
});

test('every unit of the drawn native folders is in the picture', () => {
  const drawn = new Set(nativeBoxes.flatMap((b) => b.units.map((u) => `${folderOf(b)}/${u}`)));
  // Configuration structs and event/stat records are data, not steps on a path: not drawn.
  const data = /(_config|_event|_stats|error_codes|failure)$/;
  for (const folder of new Set(nativeBoxes.map(folderOf))) {
    for (const file of fs.readdirSync(path.join(ROOT, folder))) {
      const unit = file.replace(/\.(hpp|cpp)$/, '');
      if (!data.test(unit)) expect(drawn).toContain(`${folder}/${unit}`);
    }
  }
});

test('docs/architecture.svg is current (node scripts/architecture-svg.js)', () => {
  expect(fs.readFileSync(path.join(ROOT, 'docs', 'architecture.svg'), 'utf8')).toBe(render(model));
});
