# A TOML writer in plain Nix: value -> text, evaluated without building
# anything (pkgs.formats.toml needs a build step, which `make nix-check` cannot
# run, and the generated files must be checked with `hookrun validate`).
#
#   toTOML { version = 1; jobs.site = { type = "gitmal"; }; rules = [ { branches = [ "main" ]; jobs = [ "site" ]; } ]; }
#
# Attribute sets become tables ([jobs.site]), lists of attribute sets arrays of
# tables ([[rules]]), everything else `key = value`. Within a table the plain
# keys come first, so every key stays in the table it belongs to. Attribute
# names are sorted (Nix's order); list order is kept. A Nix path is copied into
# the store and written as its store path (use a string for a path on the
# target machine); null has no TOML form and is refused.
lib:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    filter
    fromJSON
    genList
    isAttrs
    isBool
    isFloat
    isInt
    isList
    isPath
    isString
    match
    toString
    typeOf
    ;

  hex = n: builtins.substring n 1 "0123456789abcdef";
  # Every control character (Nix strings cannot hold NUL) and its escape; Nix
  # string literals know only \n, \r and \t, so fromJSON makes the others.
  controls = genList (i: i + 1) 31 ++ [ 127 ];
  short = {
    "8" = "\\b";
    "9" = "\\t";
    "10" = "\\n";
    "12" = "\\f";
    "13" = "\\r";
  };
  controlChar = c: fromJSON ''"\u00${hex (c / 16)}${hex (lib.mod c 16)}"'';
  controlEsc = c: short.${toString c} or "\\u00${hex (c / 16)}${hex (lib.mod c 16)}";

  str =
    s:
    ''"''
    + builtins.replaceStrings ([ "\\" ''"'' ] ++ map controlChar controls) ([ "\\\\" ''\"'' ] ++ map controlEsc controls) s
    + ''"'';

  key = k: if match "[A-Za-z0-9_-]+" k != null then k else str k;
  path = ks: concatStringsSep "." (map key ks);

  isTableList = v: isList v && v != [ ] && lib.all isAttrs v;
  isTable = v: isAttrs v && !(v ? outPath);

  inline =
    loc: v:
    if isString v then
      str v
    else if isBool v then
      lib.boolToString v
    else if isInt v then
      toString v
    else if isFloat v then
      toString v
    else if isPath v then
      str "${v}"
    else if v ? outPath then
      str "${v}"
    else if isList v then
      "[" + concatStringsSep ", " (lib.imap0 (i: inline "${loc}[${toString i}]") v) + "]"
    else if isAttrs v then
      "{ " + concatStringsSep ", " (map (k: "${key k} = ${inline "${loc}.${k}" v.${k}}") (attrNames v)) + " }"
    else
      throw "hookrun TOML: ${loc}: a ${typeOf v} has no TOML form (null: leave the key out)";

  # The body of the table at the key path ks: its plain keys, then its
  # subtables, then its arrays of tables.
  body =
    ks: t:
    let
      names = attrNames t;
      loc = if ks == [ ] then "settings" else path ks;
      plain = filter (k: !(isTable t.${k}) && !(isTableList t.${k})) names;
      tables = filter (k: isTable t.${k}) names;
      lists = filter (k: isTableList t.${k}) names;
      line = k: "${key k} = ${inline "${loc}.${k}" t.${k}}\n";
      # A table holding only tables needs no header of its own.
      header = k: lib.any (n: !(isTable t.${k}.${n})) (attrNames t.${k}) || t.${k} == { };
      table = k: lib.optionalString (header k) "\n[${path (ks ++ [ k ])}]\n" + body (ks ++ [ k ]) t.${k};
      list = k: concatStringsSep "" (map (e: "\n[[${path (ks ++ [ k ])}]]\n" + body (ks ++ [ k ]) e) t.${k});
    in
    concatStringsSep "" (map line plain ++ map table tables ++ map list lists);
in
value:
if isTable value then body [ ] value else throw "hookrun TOML: the top level must be an attribute set, not a ${typeOf value}"
