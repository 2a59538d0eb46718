//! The demo's product pictures: one drawing per kind of product (a coffee
//! bag for Coffee, a teapot for Tea, a sneaker for Shoes), each in two
//! colourings, written as SVG here and rasterised with `resvg`. Generated
//! by code, so a fresh clone needs no downloads and every clone shows the
//! same shop.

use resvg::{tiny_skia, usvg};

/// Width and height of a demo picture: the cards' 4:3.
pub const SIZE: (u32, u32) = (480, 360);

/// How many colourings each drawing comes in.
pub const COLOURINGS: usize = 2;

/// The colours a drawing is filled with: `a` its main colour, `b` an
/// accent, `d` a dark one for details, `l` a light one, over a background
/// going from `top` to `bottom`.
struct Palette {
    a: &'static str,
    b: &'static str,
    d: &'static str,
    l: &'static str,
    top: &'static str,
    bottom: &'static str,
}

const PALETTES: [Palette; 8] = [
    // 0 terracotta
    Palette {
        a: "#c0643c",
        b: "#e9b44c",
        d: "#3d2c2e",
        l: "#f6ead7",
        top: "#f5ebe0",
        bottom: "#e6cdb4",
    },
    // 1 sea blue
    Palette {
        a: "#2f6f8f",
        b: "#f2a65a",
        d: "#1f2b38",
        l: "#eef4f7",
        top: "#e4f0f6",
        bottom: "#c3dce9",
    },
    // 2 leaf green
    Palette {
        a: "#5b8a4a",
        b: "#e07a5f",
        d: "#2d3a2e",
        l: "#f4f1de",
        top: "#edf3e6",
        bottom: "#cfe0c3",
    },
    // 3 plum
    Palette {
        a: "#8e5ea2",
        b: "#f4c95d",
        d: "#2e2438",
        l: "#f5eefa",
        top: "#f0e8f6",
        bottom: "#d8c8e6",
    },
    // 4 red
    Palette {
        a: "#d9485f",
        b: "#3c8dad",
        d: "#2b2d42",
        l: "#fdf0ef",
        top: "#faeaea",
        bottom: "#efc9c9",
    },
    // 5 navy
    Palette {
        a: "#3d5a80",
        b: "#ee6c4d",
        d: "#1b263b",
        l: "#e0fbfc",
        top: "#e8eef5",
        bottom: "#c9d6e6",
    },
    // 6 kraft
    Palette {
        a: "#b08968",
        b: "#7f5539",
        d: "#3a2a1d",
        l: "#ede0d4",
        top: "#f4ede5",
        bottom: "#dccbb8",
    },
    // 7 teal
    Palette {
        a: "#2a9d8f",
        b: "#e9c46a",
        d: "#264653",
        l: "#f1faee",
        top: "#e6f4f1",
        bottom: "#c2e3dd",
    },
];

/// The drawings, in the order of the demo's categories (Coffee, Tea,
/// Books, …, Watches), each with its two palettes.
const DRAWINGS: [(&str, [usize; COLOURINGS]); 24] = [
    // Coffee: a bag of beans.
    (
        r##"<path d="M172 98 L308 98 L320 298 L160 298 Z" fill="{a}"/>
<path d="M172 98 L308 98 L300 66 L180 66 Z" fill="{d}"/>
<path d="M180 66 L300 66" stroke="{l}" stroke-width="4" opacity=".5"/>
<rect x="192" y="150" width="96" height="92" rx="10" fill="{l}"/>
<ellipse cx="240" cy="196" rx="20" ry="29" fill="{d}" transform="rotate(20 240 196)"/>
<path d="M233 170 C226 188 252 204 246 222" stroke="{l}" stroke-width="4" fill="none"/>"##,
        [6, 0],
    ),
    // Tea: a teapot.
    (
        r##"<path d="M160 172 C112 172 112 246 166 240" stroke="{a}" stroke-width="15" fill="none"/>
<path d="M318 196 C352 186 362 152 384 132 L374 124 C352 146 344 168 316 176 Z" fill="{a}"/>
<ellipse cx="240" cy="208" rx="88" ry="72" fill="{a}"/>
<path d="M156 212 Q240 246 324 212" stroke="{b}" stroke-width="10" fill="none"/>
<ellipse cx="240" cy="142" rx="56" ry="14" fill="{d}"/>
<circle cx="240" cy="124" r="11" fill="{b}"/>
<ellipse cx="205" cy="180" rx="22" ry="12" fill="{l}" opacity=".35"/>"##,
        [7, 3],
    ),
    // Books: a stack, one standing.
    (
        r##"<rect x="148" y="244" width="196" height="42" rx="4" fill="{a}"/>
<rect x="336" y="250" width="6" height="30" fill="{l}"/>
<rect x="164" y="258" width="48" height="7" fill="{l}" opacity=".7"/>
<rect x="160" y="202" width="176" height="42" rx="4" fill="{b}"/>
<rect x="328" y="208" width="6" height="30" fill="{l}"/>
<rect x="176" y="216" width="60" height="7" fill="{d}" opacity=".5"/>
<rect x="144" y="160" width="184" height="42" rx="4" fill="{d}"/>
<rect x="320" y="166" width="6" height="30" fill="{l}"/>
<rect x="160" y="174" width="40" height="7" fill="{b}"/>
<rect x="214" y="72" width="52" height="88" rx="3" fill="{a}" transform="rotate(8 240 160)"/>
<rect x="224" y="90" width="30" height="6" fill="{l}" transform="rotate(8 240 160)"/>"##,
        [4, 5],
    ),
    // Kitchen: a frying pan.
    (
        r##"<rect x="286" y="184" width="150" height="24" rx="12" fill="{d}" transform="rotate(-14 290 196)"/>
<circle cx="205" cy="196" r="94" fill="{d}"/>
<circle cx="205" cy="196" r="78" fill="{a}"/>
<ellipse cx="182" cy="170" rx="34" ry="18" fill="{l}" opacity=".3"/>"##,
        [1, 4],
    ),
    // Garden: a potted plant.
    (
        r##"<path d="M240 214 C196 170 186 118 214 72 C242 118 248 170 240 214 Z" fill="#5b8a4a"/>
<path d="M240 214 C272 160 312 140 344 138 C324 182 282 204 240 214 Z" fill="#6f9d58"/>
<path d="M240 214 C198 196 158 174 136 150 C178 140 220 170 240 214 Z" fill="#4c7a3d"/>
<path d="M240 214 L226 120 M240 214 L300 160 M240 214 L170 168" stroke="#2d3a2e" stroke-width="3" fill="none" opacity=".4"/>
<path d="M186 222 L294 222 L278 300 L202 300 Z" fill="{a}"/>
<rect x="176" y="206" width="128" height="22" rx="5" fill="{b}"/>"##,
        [0, 3],
    ),
    // Toys: building blocks.
    (
        r##"<rect x="146" y="218" width="84" height="84" rx="10" fill="{a}"/>
<circle cx="188" cy="260" r="22" fill="{l}"/>
<rect x="250" y="218" width="84" height="84" rx="10" fill="{b}"/>
<path d="M292 236 L314 282 L270 282 Z" fill="{l}"/>
<rect x="198" y="134" width="84" height="84" rx="10" fill="{d}" transform="rotate(-6 240 176)"/>
<rect x="222" y="158" width="36" height="36" rx="4" fill="{l}" transform="rotate(-6 240 176)"/>"##,
        [4, 1],
    ),
    // Outdoor: a tent under the hills.
    (
        r##"<path d="M40 300 L150 180 L230 260 L320 150 L440 300 Z" fill="{d}" opacity=".15"/>
<path d="M240 86 L100 304 M240 86 L380 304" stroke="{d}" stroke-width="3"/>
<path d="M240 92 L364 292 L116 292 Z" fill="{a}"/>
<path d="M240 92 L282 292 L198 292 Z" fill="{d}"/>
<path d="M240 92 L240 292" stroke="{l}" stroke-width="3"/>
<path d="M240 92 L364 292" stroke="{l}" stroke-width="3" opacity=".4"/>"##,
        [7, 0],
    ),
    // Stationery: a notebook and a pencil.
    (
        r##"<rect x="150" y="76" width="156" height="210" rx="8" fill="{a}"/>
<rect x="150" y="76" width="22" height="210" rx="4" fill="{d}"/>
<rect x="196" y="116" width="90" height="34" rx="4" fill="{l}"/>
<rect x="206" y="128" width="60" height="5" fill="{d}" opacity=".4"/>
<rect x="292" y="90" width="8" height="190" fill="{l}" opacity=".6"/>
<g transform="rotate(-32 300 226)">
<rect x="236" y="216" width="132" height="20" fill="{b}"/>
<rect x="224" y="216" width="14" height="20" rx="3" fill="#e8a0a0"/>
<path d="M368 216 L396 226 L368 236 Z" fill="#f2d6a2"/>
<path d="M387 222.8 L396 226 L387 229.2 Z" fill="#333333"/>
</g>"##,
        [5, 2],
    ),
    // Audio: headphones.
    (
        r##"<path d="M166 214 C166 100 314 100 314 214" stroke="{d}" stroke-width="18" fill="none" stroke-linecap="round"/>
<rect x="136" y="192" width="54" height="92" rx="24" fill="{a}"/>
<rect x="290" y="192" width="54" height="92" rx="24" fill="{a}"/>
<rect x="178" y="204" width="22" height="68" rx="10" fill="{b}"/>
<rect x="280" y="204" width="22" height="68" rx="10" fill="{b}"/>
<ellipse cx="160" cy="222" rx="8" ry="16" fill="{l}" opacity=".3"/>"##,
        [4, 7],
    ),
    // Lighting: a table lamp, lit.
    (
        r##"<ellipse cx="240" cy="186" rx="120" ry="26" fill="#fff6c8" opacity=".7"/>
<rect x="233" y="178" width="14" height="96" fill="{d}"/>
<ellipse cx="240" cy="286" rx="62" ry="14" fill="{d}"/>
<path d="M184 86 L296 86 L334 182 L146 182 Z" fill="{a}"/>
<path d="M184 86 L296 86" stroke="{l}" stroke-width="4" opacity=".5"/>"##,
        [2, 6],
    ),
    // Bags: a handbag.
    (
        r##"<path d="M196 154 C196 88 284 88 284 154" stroke="{d}" stroke-width="12" fill="none"/>
<path d="M150 150 L330 150 L348 292 L132 292 Z" fill="{a}" stroke="{a}" stroke-width="8" stroke-linejoin="round"/>
<path d="M146 150 L334 150 L328 196 L152 196 Z" fill="{b}"/>
<circle cx="240" cy="196" r="10" fill="{l}"/>
<path d="M150 262 L330 262" stroke="{d}" stroke-width="3" opacity=".3"/>"##,
        [0, 5],
    ),
    // Shoes: a trainer, from the side.
    (
        r##"<path d="M118 268 L118 222 C118 202 138 192 158 190 L198 186 C214 160 230 148 252 148 L268 148 C278 180 302 200 342 208 C368 214 378 236 372 268 Z" fill="{a}"/>
<path d="M112 262 L378 262 C382 280 372 294 356 294 L130 294 C116 294 108 280 112 262 Z" fill="{l}"/>
<path d="M112 276 L380 276" stroke="{d}" stroke-width="3" opacity=".25"/>
<path d="M168 244 C220 250 282 236 332 214" stroke="{b}" stroke-width="11" fill="none" stroke-linecap="round"/>
<path d="M214 176 L238 196 M229 166 L253 186 M244 158 L267 178" stroke="{l}" stroke-width="5" stroke-linecap="round"/>
<path d="M252 148 L268 148 C272 160 276 168 282 176" stroke="{d}" stroke-width="4" fill="none" opacity=".4"/>"##,
        [5, 4],
    ),
    // Home: a vase of flowers.
    (
        r##"<path d="M240 176 L240 100 M240 176 L200 112 M240 176 L286 116" stroke="#5b8a4a" stroke-width="5" fill="none"/>
<circle cx="240" cy="94" r="20" fill="{b}"/>
<circle cx="198" cy="106" r="16" fill="{b}"/>
<circle cx="288" cy="110" r="17" fill="{b}"/>
<circle cx="240" cy="94" r="7" fill="{l}"/>
<circle cx="198" cy="106" r="6" fill="{l}"/>
<circle cx="288" cy="110" r="6" fill="{l}"/>
<path d="M212 182 C168 222 180 292 216 300 L264 300 C300 292 312 222 268 182 Z" fill="{a}"/>
<rect x="214" y="166" width="52" height="20" rx="6" fill="{d}"/>
<path d="M200 236 C220 246 262 246 282 236" stroke="{l}" stroke-width="4" fill="none" opacity=".5"/>"##,
        [1, 3],
    ),
    // Bath: towels and a pump bottle.
    (
        r##"<rect x="124" y="244" width="138" height="34" rx="14" fill="{b}"/>
<rect x="130" y="212" width="126" height="34" rx="14" fill="{l}"/>
<rect x="136" y="180" width="114" height="34" rx="14" fill="{a}" opacity=".75"/>
<rect x="274" y="150" width="84" height="140" rx="20" fill="{a}"/>
<rect x="306" y="120" width="20" height="32" fill="{d}"/>
<path d="M300 122 L300 108 L352 108 L352 118 L326 118 L326 122 Z" fill="{d}"/>
<rect x="290" y="194" width="52" height="54" rx="6" fill="{l}" opacity=".85"/>"##,
        [7, 3],
    ),
    // Bikes: a bicycle.
    (
        r##"<circle cx="156" cy="232" r="56" fill="none" stroke="{d}" stroke-width="10"/>
<circle cx="324" cy="232" r="56" fill="none" stroke="{d}" stroke-width="10"/>
<circle cx="156" cy="232" r="6" fill="{d}"/>
<circle cx="324" cy="232" r="6" fill="{d}"/>
<path d="M156 232 L214 160 L302 160 L324 232 M214 160 L240 232 L302 160 M156 232 L240 232" stroke="{a}" stroke-width="9" fill="none" stroke-linejoin="round" stroke-linecap="round"/>
<path d="M214 160 L208 140 M192 138 L228 138" stroke="{d}" stroke-width="9" fill="none" stroke-linecap="round"/>
<path d="M302 160 L296 128 L322 122" stroke="{d}" stroke-width="8" fill="none" stroke-linecap="round"/>
<circle cx="240" cy="232" r="12" fill="none" stroke="{b}" stroke-width="5"/>"##,
        [4, 7],
    ),
    // Games: a pair of dice.
    (
        r##"<rect x="136" y="170" width="112" height="112" rx="18" fill="{l}" stroke="{d}" stroke-width="4"/>
<circle cx="164" cy="198" r="9" fill="{d}"/>
<circle cx="220" cy="198" r="9" fill="{d}"/>
<circle cx="192" cy="226" r="9" fill="{d}"/>
<circle cx="164" cy="254" r="9" fill="{d}"/>
<circle cx="220" cy="254" r="9" fill="{d}"/>
<g transform="rotate(16 306 172)">
<rect x="254" y="120" width="104" height="104" rx="16" fill="{a}"/>
<circle cx="280" cy="146" r="9" fill="{l}"/>
<circle cx="306" cy="172" r="9" fill="{l}"/>
<circle cx="332" cy="198" r="9" fill="{l}"/>
</g>"##,
        [4, 3],
    ),
    // Pets: a bone and a paw print.
    (
        r##"<g transform="rotate(-18 240 210)">
<rect x="178" y="190" width="124" height="42" fill="{a}"/>
<circle cx="176" cy="190" r="27" fill="{a}"/>
<circle cx="176" cy="232" r="27" fill="{a}"/>
<circle cx="304" cy="190" r="27" fill="{a}"/>
<circle cx="304" cy="232" r="27" fill="{a}"/>
</g>
<g fill="{d}" opacity=".8">
<ellipse cx="330" cy="112" rx="24" ry="20"/>
<ellipse cx="302" cy="82" rx="9" ry="12"/>
<ellipse cx="322" cy="70" rx="9" ry="12"/>
<ellipse cx="344" cy="72" rx="9" ry="12"/>
<ellipse cx="360" cy="90" rx="9" ry="12"/>
</g>"##,
        [6, 1],
    ),
    // Art: a palette and a brush.
    (
        r##"<path d="M240 98 C334 98 372 160 352 222 C338 264 292 252 276 272 C260 298 210 302 174 282 C124 254 118 170 158 130 C180 108 210 98 240 98 Z" fill="{l}" stroke="{d}" stroke-width="4"/>
<circle cx="298" cy="234" r="15" fill="{d}" opacity=".25"/>
<circle cx="196" cy="146" r="16" fill="#d9485f"/>
<circle cx="246" cy="132" r="16" fill="#e9c46a"/>
<circle cx="296" cy="150" r="16" fill="#2f6f8f"/>
<circle cx="178" cy="198" r="16" fill="#5b8a4a"/>
<circle cx="196" cy="250" r="16" fill="{a}"/>
<g transform="rotate(38 260 200)">
<rect x="254" y="60" width="13" height="150" rx="5" fill="{d}"/>
<rect x="252" y="206" width="17" height="14" fill="#c0c0c0"/>
<path d="M252 220 L269 220 L264 262 L257 262 Z" fill="{b}"/>
</g>"##,
        [3, 5],
    ),
    // Music: a guitar.
    (
        r##"<g transform="rotate(-34 240 190)">
<rect x="232" y="28" width="16" height="160" fill="{d}"/>
<rect x="225" y="16" width="30" height="30" rx="5" fill="{d}"/>
<circle cx="240" cy="214" r="50" fill="{a}"/>
<circle cx="240" cy="276" r="62" fill="{a}"/>
<circle cx="240" cy="228" r="17" fill="{d}"/>
<rect x="220" y="282" width="40" height="9" rx="3" fill="{d}"/>
<path d="M236 40 L236 286 M244 40 L244 286" stroke="{l}" stroke-width="1.5" opacity=".7"/>
</g>"##,
        [6, 4],
    ),
    // Travel: a suitcase.
    (
        r##"<path d="M214 112 L214 84 L266 84 L266 112" stroke="{d}" stroke-width="11" fill="none" stroke-linejoin="round"/>
<rect x="162" y="108" width="156" height="184" rx="18" fill="{a}"/>
<rect x="198" y="108" width="11" height="184" fill="{b}"/>
<rect x="271" y="108" width="11" height="184" fill="{b}"/>
<circle cx="188" cy="300" r="10" fill="{d}"/>
<circle cx="292" cy="300" r="10" fill="{d}"/>
<rect x="172" y="120" width="10" height="80" rx="5" fill="{l}" opacity=".3"/>"##,
        [1, 2],
    ),
    // Baby: a feeding bottle.
    (
        r##"<path d="M214 132 C214 96 226 80 240 74 C254 80 266 96 266 132 Z" fill="{b}"/>
<rect x="194" y="128" width="92" height="28" rx="7" fill="{a}"/>
<rect x="200" y="154" width="80" height="140" rx="20" fill="{l}" stroke="{a}" stroke-width="6"/>
<rect x="207" y="204" width="66" height="84" rx="15" fill="#ffffff"/>
<path d="M200 184 L222 184 M200 214 L222 214 M200 244 L222 244" stroke="{a}" stroke-width="4"/>"##,
        [1, 7],
    ),
    // Fitness: a dumbbell.
    (
        r##"<rect x="176" y="188" width="128" height="24" rx="6" fill="{d}"/>
<rect x="106" y="158" width="34" height="84" rx="9" fill="{a}"/>
<rect x="138" y="136" width="38" height="128" rx="9" fill="{a}"/>
<rect x="304" y="136" width="38" height="128" rx="9" fill="{a}"/>
<rect x="340" y="158" width="34" height="84" rx="9" fill="{a}"/>
<rect x="146" y="148" width="8" height="60" rx="4" fill="{l}" opacity=".35"/>"##,
        [4, 5],
    ),
    // Tools: a hammer.
    (
        r##"<g transform="rotate(-30 240 200)">
<rect x="229" y="124" width="24" height="184" rx="9" fill="{b}"/>
<rect x="229" y="250" width="24" height="58" rx="9" fill="{a}"/>
<rect x="178" y="92" width="124" height="46" rx="4" fill="{d}"/>
<path d="M302 98 L330 106 L330 126 L302 134 Z" fill="{d}"/>
<path d="M178 92 C160 92 144 108 134 132 L178 128 Z" fill="{d}"/>
</g>"##,
        [6, 0],
    ),
    // Watches: a wristwatch.
    (
        r##"<rect x="204" y="56" width="72" height="248" rx="20" fill="{b}"/>
<rect x="306" y="170" width="16" height="20" rx="3" fill="{d}"/>
<circle cx="240" cy="180" r="72" fill="{d}"/>
<circle cx="240" cy="180" r="60" fill="{l}"/>
<path d="M240 128 L240 138 M240 222 L240 232 M188 180 L198 180 M282 180 L292 180" stroke="{d}" stroke-width="5"/>
<path d="M240 180 L240 142" stroke="{d}" stroke-width="6" stroke-linecap="round"/>
<path d="M240 180 L270 196" stroke="{d}" stroke-width="5" stroke-linecap="round"/>
<circle cx="240" cy="180" r="5" fill="{a}"/>"##,
        [6, 1],
    ),
];

/// How many distinct pictures there are: every drawing in every colouring.
pub const COUNT: usize = DRAWINGS.len() * COLOURINGS;

/// Which picture shows a product of category `kind` (an index into the
/// demo's categories, wrapping), in colouring `variant`.
pub fn index(kind: usize, variant: usize) -> usize {
    (kind % DRAWINGS.len()) * COLOURINGS + variant % COLOURINGS
}

/// The colours the demo's variants come in (Black, Stone, Tan, Olive),
/// as a drawing is filled in each: a variant's picture shows its colour.
const NAMED: [(&str, Palette); 4] = [
    (
        "black",
        Palette {
            a: "#2b2d31",
            b: "#8d99ae",
            d: "#111214",
            l: "#f1f1ee",
            top: "#eeeeec",
            bottom: "#cfd0cc",
        },
    ),
    (
        "stone",
        Palette {
            a: "#b5aa98",
            b: "#6b705c",
            d: "#4a4238",
            l: "#faf7f0",
            top: "#f3f1ec",
            bottom: "#ddd8cc",
        },
    ),
    (
        "tan",
        Palette {
            a: "#c08a55",
            b: "#7a4a2a",
            d: "#3b2618",
            l: "#f8ecdc",
            top: "#f6eee4",
            bottom: "#e3cfb8",
        },
    ),
    (
        "olive",
        Palette {
            a: "#6b7b3a",
            b: "#d9c27a",
            d: "#2f3520",
            l: "#f1f3e4",
            top: "#eef0e4",
            bottom: "#d2d8bd",
        },
    ),
];

/// Picture `i` (see [`index`]) as SVG.
pub fn svg(i: usize) -> String {
    let (drawing, palettes) = DRAWINGS[(i / COLOURINGS) % DRAWINGS.len()];
    draw(
        drawing,
        &PALETTES[palettes[i % COLOURINGS] % PALETTES.len()],
    )
}

/// The drawing of category `kind` (as [`index`] takes it) in a colour
/// the demo's variants come in, as SVG; `None` for another colour.
pub fn coloured_svg(kind: usize, colour: &str) -> Option<String> {
    let (_, p) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(colour))?;
    Some(draw(DRAWINGS[kind % DRAWINGS.len()].0, p))
}

fn draw(drawing: &str, p: &Palette) -> String {
    let body = drawing
        .replace("{a}", p.a)
        .replace("{b}", p.b)
        .replace("{d}", p.d)
        .replace("{l}", p.l);
    let (w, h) = SIZE;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">
<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/></linearGradient></defs>
<rect width="{w}" height="{h}" fill="url(#bg)"/>
<ellipse cx="240" cy="304" rx="128" ry="13" fill="#000000" opacity=".10"/>
{body}
</svg>"##,
        top = p.top,
        bottom = p.bottom,
    )
}

/// Picture `i` drawn at [`SIZE`].
pub fn picture(i: usize) -> image::RgbImage {
    rasterise(&svg(i))
}

/// An SVG of ours drawn at [`SIZE`].
pub fn rasterise(svg: &str) -> image::RgbImage {
    let (w, h) = SIZE;
    let mut pixmap = tiny_skia::Pixmap::new(w, h).expect("a non-empty picture");
    // The SVG is ours and valid (a test draws every one).
    if let Ok(tree) = usvg::Tree::from_str(svg, &usvg::Options::default()) {
        resvg::render(
            &tree,
            tiny_skia::Transform::identity(),
            &mut pixmap.as_mut(),
        );
    }
    // The background is opaque, so the premultiplied pixels are the
    // colours themselves.
    image::RgbImage::from_fn(w, h, |x, y| {
        let px = pixmap.pixel(x, y).expect("inside the picture");
        image::Rgb([px.red(), px.green(), px.blue()])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_picture_parses_and_differs_from_the_others() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..COUNT {
            usvg::Tree::from_str(&svg(i), &usvg::Options::default())
                .unwrap_or_else(|e| panic!("picture {i}: {e}"));
            let img = picture(i);
            // Something is drawn over the background: the middle differs
            // from the top corner.
            assert_ne!(img.get_pixel(0, 0), img.get_pixel(240, 200), "picture {i}");
            assert!(seen.insert(img.into_raw()), "picture {i} repeats another");
        }
    }

    #[test]
    fn variants_colours_are_drawn_in_those_colours() {
        // Shoes (category 11) in black and in stone differ from each
        // other and from the shoes' own colourings.
        let black = rasterise(&coloured_svg(11, "Black").unwrap());
        let stone = rasterise(&coloured_svg(11, "stone").unwrap());
        assert_ne!(black, stone);
        assert_ne!(black, picture(index(11, 0)));
        assert_ne!(black, picture(index(11, 1)));
        // The trainer's body, at its middle, is the colour's main one.
        assert_eq!(black.get_pixel(240, 230), &image::Rgb([0x2b, 0x2d, 0x31]));
        for colour in ["Tan", "Olive"] {
            let svg = coloured_svg(10, colour).unwrap();
            usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
        }
        assert!(coloured_svg(11, "Plaid").is_none());
    }

    #[test]
    fn a_category_keeps_its_drawing_in_each_colouring() {
        assert_eq!(index(0, 0), 0);
        assert_eq!(index(0, 1), 1);
        assert_eq!(index(11, 0), 22);
        assert_eq!(
            index(24, 1),
            index(0, 1),
            "the 25th category draws as the first"
        );
    }
}
