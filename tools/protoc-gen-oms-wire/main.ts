#!/usr/bin/env bun
// Run by `buf generate` (buf.gen.yaml): reads a CodeGeneratorRequest on stdin, writes the response.
import { runNodeJs } from "@bufbuild/protoplugin";
import { protocGenOmsWire } from "./plugin.ts";

runNodeJs(protocGenOmsWire);
